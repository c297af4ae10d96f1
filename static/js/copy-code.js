/* The install page's copy buttons: each copies the text of the element its
   data-copy-target names and says so on the button and in the page's live
   region. Without the script the values are plain text to select. */
(function () {
  "use strict";

  const status = document.getElementById("esim-copy-status");

  function copied(button) {
    const label = button.dataset.copied || "";
    if (status) {
      status.textContent = label;
    }
    button.classList.add("btn-success");
    button.classList.remove("btn-outline-secondary");
    window.setTimeout(function () {
      button.classList.remove("btn-success");
      button.classList.add("btn-outline-secondary");
    }, 2000);
  }

  function selectText(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    button.addEventListener("click", function () {
      const source = document.getElementById(button.dataset.copyTarget);
      if (!source) {
        return;
      }
      const text = source.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(
          function () { copied(button); },
          function () { selectText(source); }
        );
      } else {
        // Plain http (a development server): select it for the phone's own copy.
        selectText(source);
        copied(button);
      }
    });
  });
})();
