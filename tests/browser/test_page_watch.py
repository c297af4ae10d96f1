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


def test_it_reports_serious_accessibility_violations_with_the_page_and_the_rule(
    portal: Any, page_problems: Any
) -> None:
    page = portal.page
    portal.goto("/")
    page.wait_for_function("() => window.__portalAxeRun !== undefined")
    page.evaluate("() => window.__portalAxeRun")
    assert page_problems.problems == []

    # A button with no name: a screen reader announces only "button".
    page.evaluate(
        """() => {
          const button = document.createElement("button");
          button.className = "nameless";
          document.querySelector("main").appendChild(button);
        }"""
    )
    page_problems.check_accessibility(page)

    assert len(page_problems.problems) == 1, page_problems.problems
    problem = page_problems.problems[0]
    assert problem.startswith(f"axe critical button-name on {portal.url('/')} (en): "), problem
    assert ".nameless: " in problem, problem
    page.evaluate("() => document.querySelector('.nameless').remove()")
    page_problems.problems.clear()  # seen on purpose


def test_it_checks_a_page_as_it_loads_without_being_asked(portal: Any, page_problems: Any) -> None:
    page = portal.page
    # A page with an image that has no text alternative, as a journey would
    # land on it by a click.
    page.route(
        portal.url("/broken-page/"),
        lambda route: route.fulfill(
            content_type="text/html",
            body='<!DOCTYPE html><html lang="en"><title>t</title><main><img src="/static/favicon.svg"></main></html>',
        ),
    )
    page.goto(portal.url("/broken-page/"))

    for _ in range(100):
        if page_problems.problems:
            break
        page.wait_for_timeout(20)
    assert [problem.split(":")[0] for problem in page_problems.problems] == [
        f"axe critical image-alt on {portal.url('/broken-page/')} (en)".split(":")[0]
    ], page_problems.problems
    page_problems.problems.clear()  # seen on purpose
    portal.goto("/")
