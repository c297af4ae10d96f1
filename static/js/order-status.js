/* The result page of a pending payment: ask for the order's status now and
   then; once the payment has settled, fetch the page again, put its new step
   indicator and result in place of the old ones and say the new outcome in
   the page's live region. Without this script the page's "Check again" link
   does the same by hand. */
(function () {
  "use strict";

  const result = document.getElementById("order-result");
  const announcement = document.getElementById("order-announcement");
  if (!result || !announcement || !result.dataset.statusUrl) {
    return;
  }
  const statusUrl = result.dataset.statusUrl;
  const waitingStatus = result.dataset.status;
  // Ask often at first, then less often; stop after a quarter of an hour
  // (the link is still there, and the receipt comes by email).
  let delay = Number(result.dataset.pollSeconds || 3) * 1000;
  const longestDelay = 30 * 1000;
  const giveUpAt = Date.now() + 15 * 60 * 1000;

  function askLater() {
    if (Date.now() < giveUpAt) {
      window.setTimeout(ask, delay);
      delay = Math.min(Math.round(delay * 1.2), longestDelay);
    }
  }

  async function ask() {
    let status = null;
    try {
      const response = await fetch(statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
      if (response.ok) {
        status = (await response.json()).status;
      }
    } catch (error) {
      status = null; // offline for a moment: ask again later
    }
    if (status && status !== waitingStatus) {
      await showSettled();
    } else {
      askLater();
    }
  }

  async function showSettled() {
    let fresh;
    try {
      const response = await fetch(window.location.href, { cache: "no-store" });
      if (!response.ok) {
        throw new Error(`the page answered ${response.status}`);
      }
      fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    } catch (error) {
      window.location.reload();
      return;
    }
    for (const id of ["checkout-steps", "order-result"]) {
      const current = document.getElementById(id);
      const replacement = fresh.getElementById(id);
      if (current && replacement) {
        current.replaceWith(document.importNode(replacement, true));
      }
    }
    // The new heading and the sentence that says what it means.
    const said = document.querySelectorAll("#result-heading, #order-result .order-outcome");
    announcement.textContent = Array.from(said, (element) => element.textContent.replace(/\s+/g, " ").trim()).join(" ");
  }

  askLater();
})();
