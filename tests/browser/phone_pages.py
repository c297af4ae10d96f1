"""What the eSIM journeys share: a full-page screenshot, the check that a page
fits the phone, reading a QR code back off a screenshot, and a support
agent's own browser signed in to the admin with two factors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group
from django.test import Client

from tests.browser.conftest import ARTIFACTS, PHONE_VIEWPORT
from tests.factories import UserFactory
from tests.staff_groups import staff_groups_restore
from tests.two_factor import staff_sign_in


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_fits_the_phone(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_VIEWPORT["width"], f"the page is {width}px wide on a {PHONE_VIEWPORT['width']}px phone"


def read_qr(path: Any) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [result.text for result in zxingcpp.read_barcodes(Image.open(path))]


def agent_page(open_page: Any, portal: Any) -> Any:
    """A support agent's own browser, signed in to the admin with two factors."""
    agent = UserFactory(is_staff=True, full_name="Siri Support", language="nb")
    staff_groups_restore()
    agent.groups.add(Group.objects.get(name="Support agent"))
    client = Client()
    staff_sign_in(client, agent)
    page = open_page()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": portal.url("/")}]
    )
    return page
