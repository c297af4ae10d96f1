"""Two-factor sign-in at phone width: turn on an authenticator app (TOTP) from
the security page, get recovery codes, then sign in with password and code."""

from __future__ import annotations

import time
import types
from typing import Any

import pytest
from allauth.mfa.models import Authenticator

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOTP_PERIOD = 30


def expect(*args: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(*args)


class PinnedClock:
    """The clock allauth's TOTP check reads, pinned to one moment.

    allauth accepts only the current 30-second window and refuses a code that
    was used already, so the sign-in code must come from a later window than
    the activation code. Waiting for the real window to turn costs up to 30 s
    and races the boundary; pinning the server's TOTP clock and moving it one
    window on makes both codes right every time.
    """

    def __init__(self) -> None:
        # The middle of the current real window: a realistic moment.
        self.now = (int(time.time()) // TOTP_PERIOD) * TOTP_PERIOD + TOTP_PERIOD // 2

    def time(self) -> float:
        return float(self.now)

    def next_window(self) -> None:
        self.now += TOTP_PERIOD


@pytest.fixture
def totp_clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    from allauth.mfa.totp.internal import auth

    clock = PinnedClock()
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(time=clock.time))
    return clock


def test_turn_on_two_factor_then_sign_in_with_password_and_code(portal: Any, totp_clock: PinnedClock) -> None:
    import pyotp

    page = portal.page
    user = UserFactory(
        full_name="Kari Nordmann",
        email="kari@example.test",
        phone="+4791234567",
        phone_verified=True,
        verified_email=True,
    )

    portal.sign_in("kari@example.test", DEFAULT_PASSWORD)
    portal.expect_path("/dashboard/")

    # Security page, through the collapsed menu.
    portal.open_menu()
    page.locator("#main-nav").get_by_role("link", name="Security").click()
    portal.expect_path("/accounts/2fa/")
    expect(page.locator("main")).to_contain_text("An authenticator app is not active.")
    page.locator("main").get_by_role("link", name="Activate").click()

    # A fresh sign-in needs no reauthentication; an older one would ask for
    # the password first.
    if "/reauthenticate/" in page.url:
        page.locator("input[name=password]").fill(DEFAULT_PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    portal.expect_path("/accounts/2fa/totp/activate/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Activate Authenticator App")
    expect(page.locator("main img[src^='data:image/svg+xml']")).to_be_visible()
    secret = page.locator("#authenticator_secret").input_value()
    assert len(secret) >= 16, secret
    totp = pyotp.TOTP(secret)

    # A wrong code is refused on the same page.
    activation_code = totp.at(totp_clock.now)
    wrong_code = f"{(int(activation_code) + 1) % 1_000_000:06d}"
    page.locator("main input[name=code]").fill(wrong_code)
    page.locator("main form button[type=submit]").click()
    portal.expect_path("/accounts/2fa/totp/activate/")
    expect(page.locator("main .invalid-feedback")).to_have_text("Incorrect code.")
    assert not Authenticator.objects.filter(user=user).exists()

    # The right code turns it on, and recovery codes are offered at once.
    page.locator("main input[name=code]").fill(activation_code)
    page.locator("main form button[type=submit]").click()
    portal.expect_path("/accounts/2fa/recovery-codes/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery Codes")
    codes = page.locator("#recovery_codes").input_value().split()
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    expect(page.get_by_role("link", name="Download codes")).to_be_visible()
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }

    # Sign out, and back in: the password alone is not enough any more.
    portal.sign_out()
    totp_clock.next_window()
    portal.sign_in("912 34 567", DEFAULT_PASSWORD)
    portal.expect_path("/accounts/2fa/authenticate/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")

    # The code of the activation window has expired by now.
    login_code = totp.at(totp_clock.now)
    assert login_code != activation_code
    page.locator("main input[name=code]").fill(activation_code)
    page.get_by_role("button", name="Sign In").click()
    portal.expect_path("/accounts/2fa/authenticate/")
    expect(page.locator("main .invalid-feedback")).to_have_text("Incorrect code.")

    page.locator("main input[name=code]").fill(login_code)
    page.get_by_role("button", name="Sign In").click()
    portal.expect_path("/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Kari")
    portal.expect_clean()
