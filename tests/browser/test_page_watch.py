"""The watch every browser test relies on: a page that breaks the content
security policy is reported, so "no problems seen" in the journeys means
something."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_reports_inline_script_and_style_blocked_by_the_csp(portal: Any, page_problems: Any) -> None:
    page = portal.page
    response = page.goto(portal.url("/"))
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, policy
    assert page_problems.problems == []

    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.inlineRan = true;";
          document.body.appendChild(script);
          const style = document.createElement("style");
          style.textContent = "body { color: red; }";
          document.head.appendChild(style);
        }"""
    )
    # Console events arrive asynchronously: give them a moment.
    for _ in range(50):
        seen = "\n".join(page_problems.problems)
        if "CSP violation: script-src" in seen and "CSP violation: style-src" in seen:
            break
        page.wait_for_timeout(20)

    assert page.evaluate("window.inlineRan === undefined")
    assert "CSP violation: script-src" in seen, seen
    assert "CSP violation: style-src" in seen, seen
    page_problems.problems.clear()  # seen on purpose
