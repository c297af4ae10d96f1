"""Browser set-up: one Chromium for the session, a fresh phone-sized page per
test, and on every page a watch for console errors, CSP violations, failed
requests and server errors.

Playwright's sync API keeps an event loop running in the main thread, which
Django's ORM takes for an async context; the tests' own ORM calls are plain
synchronous code, hence DJANGO_ALLOW_ASYNC_UNSAFE. Playwright is imported
inside the fixtures so that a machine without it still collects the suite
(tests/conftest.py then skips it, or fails the run under CI=true).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.conftest import CHROMIUM, IN_CI

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, Request, Response

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"
PHONE_VIEWPORT = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Timeouts stay short: every page here is served by a local thread, so a
# wait that takes seconds is a bug, not a slow network.
ACTION_TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 10_000

# Chromium reports a CSP violation on the console; this listener also makes a
# violation that is only an event (no console line) visible. Init scripts are
# injected by the browser itself, so the page's CSP does not block this one.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
                + ` at ${event.sourceFile || document.location.pathname}:${event.lineNumber}`);
});
"""


# axe-core from npm (package.json pins it; `make test` installs it), given to
# every page as an init script: the browser injects those itself, so the
# page's content security policy, which refuses inline scripts, lets it run.
AXE_SCRIPT = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
# What fails a journey: a violation a customer cannot get past or around.
AXE_FAILING_IMPACTS = ("critical", "serious")
# Rules left unchecked on some pages, each with the reason.
AXE_EXEMPTIONS: list[tuple[re.Pattern[str], str]] = [
    # Django's own admin markup, which our templates do not draw (README,
    # "Accessibility"): the changelist's search box is labelled by a
    # magnifier image alone; its "(N total)" link is told apart by colour
    # alone; at phone width an inline's table scrolls in a box that takes
    # no focus.
    (re.compile(r"^/admin/"), "label-title-only"),
    (re.compile(r"^/admin/"), "link-in-text-block"),
    (re.compile(r"^/admin/"), "scrollable-region-focusable"),
]
# Runs axe on the document as it stands and answers the failing violations,
# a few offending elements each. Runs are chained: axe refuses to start while
# another run on the same page is under way.
AXE_RUN = """
async ([impacts, skipped]) => {
  const rules = Object.fromEntries(skipped.map((id) => [id, {enabled: false}]));
  const run = (window.__portalAxeRun || Promise.resolve()).catch(() => null)
    .then(() => axe.run(document, {resultTypes: ["violations"], rules}));
  window.__portalAxeRun = run;
  const result = await run;
  return result.violations.filter((v) => impacts.includes(v.impact)).map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": "
      + (n.failureSummary || "").split("\\n").slice(1).join(" ").trim()),
  }));
}
"""


def axe_exempt_rules(url: str) -> list[str]:
    path = urlsplit(url).path
    return [rule for pattern, rule in AXE_EXEMPTIONS if pattern.search(path)]


@dataclass
class PageProblems:
    """Everything that went wrong on the pages of one test, with the URL."""

    problems: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type in {"error", "assert"}:
            self.problems.append(
                f"console {message.type} on {message.page.url if message.page else '?'}: {message.text}"
            )

    def on_page_error(self, error: Any) -> None:
        self.problems.append(f"uncaught exception: {error}")

    def on_request_failed(self, request: Request) -> None:
        # A request the browser itself dropped because the page moved on (the
        # favicon of a page left at once) is not a failure of ours; any
        # status the server answered is caught by on_response.
        if request.failure == "net::ERR_ABORTED":
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def on_response(self, response: Response) -> None:
        # 4xx on a page the customer reaches by clicking is a broken link or
        # asset; 5xx anywhere is ours. Form pages answer 200 with their errors.
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status} for {response.request.method} {response.url}")

    def check_accessibility(self, page: Page) -> None:
        """Runs axe on the page as it stands; its critical and serious
        violations become problems, named with the page and its language.
        A page the journey has already left cannot be checked, and is not
        a problem: the next checkpoint checks the page it went on to."""
        from playwright.sync_api import Error

        url = page.url
        if not url.startswith("http"):
            return
        try:
            language = page.evaluate("document.documentElement.lang")
            violations = page.evaluate(AXE_RUN, [list(AXE_FAILING_IMPACTS), axe_exempt_rules(url)])
        except Error as error:
            if page.is_closed() or page.url != url or "context was destroyed" in str(error):
                return
            raise
        for violation in violations:
            nodes = "".join(f"\n      {node[:300]}" for node in violation["nodes"])
            problem = f"axe {violation['impact']} {violation['id']} on {url} ({language}): {violation['help']}{nodes}"
            # The load's own pass and a checkpoint can see the same thing.
            if problem not in self.problems:
                self.problems.append(problem)

    def assert_none(self) -> None:
        assert not self.problems, "problems seen in the browser:\n" + "\n".join(self.problems)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def open_page(browser: Browser, request: pytest.FixtureRequest, page_problems: PageProblems) -> Iterator[Any]:
    """Opens a phone-sized page in a fresh context (no cookies: a new device)
    with an English-speaking browser, watched for problems. The last page
    opened is saved under var/test-artifacts/<test name>.png, failed or not."""
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    def open_() -> Page:
        context = browser.new_context(viewport=PHONE_VIEWPORT, locale="en-US", is_mobile=True, has_touch=True)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        context.add_init_script(CSP_LISTENER)
        context.add_init_script(path=AXE_SCRIPT)
        contexts.append(context)
        page = context.new_page()
        # Every page the journey lands on is checked once it has loaded, and
        # the last one again as the test ends (its state after the clicks).
        page.on("load", page_problems.check_accessibility)
        page.on("console", page_problems.on_console)
        page.on("pageerror", page_problems.on_page_error)
        page.on("requestfailed", page_problems.on_request_failed)
        page.on("response", page_problems.on_response)
        pages.append(page)
        return page

    if not AXE_SCRIPT.exists():
        message = f"{AXE_SCRIPT} is missing: run `npm ci` (make static does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    yield open_
    for open_one in pages:
        if not open_one.is_closed():
            page_problems.check_accessibility(open_one)
    try:
        if pages:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            report = getattr(request.node, "report_call", None)
            suffix = "-failed" if report is not None and report.failed else ""
            name = re.sub(r"[^\w.-]+", "_", request.node.name)
            for stale in (ARTIFACTS / f"{name}.png", ARTIFACTS / f"{name}-failed.png"):
                stale.unlink(missing_ok=True)
            pages[-1].screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()
    # Also checked here so that no journey can forget it; a test that already
    # failed keeps its own, more telling, error.
    report = getattr(request.node, "report_call", None)
    if report is None or report.passed:
        page_problems.assert_none()


@pytest.fixture
def page(open_page: Any) -> Page:
    return open_page()


class Portal:
    """The steps every journey shares, done the way a customer on a phone
    does them: through the collapsed navbar, the forms and their buttons."""

    def __init__(self, page: Page, base_url: str, problems: PageProblems) -> None:
        self.page = page
        self.base_url = base_url
        self.problems = problems

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str) -> None:
        response = self.page.goto(self.url(path))
        assert response is not None and response.ok, f"{path} answered {response and response.status}"

    def expect_path(self, path: str) -> None:
        from playwright.sync_api import expect

        expect(self.page).to_have_url(re.compile(re.escape(self.url(path)) + r"(\?.*)?$"))

    def expect_styled_and_scripted(self) -> None:
        """Bootstrap's CSS and JS and our stylesheet arrived from the live
        server: at phone width the navbar is collapsed behind its toggler."""
        from playwright.sync_api import expect

        sheets = self.page.evaluate("[...document.styleSheets].map((s) => s.href || 'inline')")
        assert any(href.endswith("/bootstrap.min.css") for href in sheets), sheets
        assert any(href.endswith("/css/portal.css") for href in sheets), sheets
        assert self.page.evaluate("typeof window.bootstrap?.Collapse") == "function"
        expect(self.page.locator(".navbar-toggler")).to_be_visible()
        expect(self.page.locator("#main-nav")).to_be_hidden()

    def open_menu(self, page: Page | None = None) -> None:
        """Open the navbar behind the hamburger (this page, or another one)."""
        from playwright.sync_api import expect

        page = page or self.page
        toggler = page.locator(".navbar-toggler")
        if toggler.get_attribute("aria-expanded") != "true":
            toggler.click()
        # Bootstrap adds "show" once the opening animation is over; a tap on a
        # link that is still sliding in can miss it.
        expect(page.locator("#main-nav")).to_have_class(re.compile(r"(^|\s)show(\s|$)"))
        expect(page.locator("#main-nav")).to_be_visible()

    def sign_in(self, login: str, password: str) -> None:
        self.goto("/accounts/login/")
        self.page.locator("input[name=login]").fill(login)
        self.page.locator("input[name=password]").fill(password)
        self.page.locator("main form button[type=submit]").first.click()

    def sign_out(self) -> None:
        from playwright.sync_api import expect

        self.open_menu()
        self.page.locator("#nav-sign-out").click()
        self.expect_path("/accounts/logout/")
        self.page.locator("main form[action='/accounts/logout/'] button[type=submit]").click()
        self.expect_path("/")
        expect(self.page.locator("#nav-sign-in")).to_be_attached()

    def switch_language(self, code: str) -> None:
        self.open_menu()
        self.page.locator("#language-menu").click()
        with self.page.expect_navigation():
            self.page.locator(f"button[name=language][value='{code}']").click()

    def expect_clean(self) -> None:
        self.problems.assert_none()


@pytest.fixture
def portal(page: Page, live_server: Any, page_problems: PageProblems) -> Portal:
    return Portal(page, live_server.url, page_problems)
