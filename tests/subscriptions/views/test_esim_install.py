"""My eSIM and Install as a customer meets them: the profile in use, the
activation code only after a fresh sign-in (two-factor for those who have
it), an audit row per showing, never cached, never in a URL, emailed only on
request, hidden once installed, and a 404 for every other customer."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import mail
from django.test import Client
from django.utils import timezone

from subscriptions.models import EsimCodeChannel, EsimCodeView, EsimConfirmationCode, EsimState, LineStatus
from subscriptions.services.esim_confirmation import esim_confirmation_code_issue, esim_confirmation_code_matches
from tests.factories import DEFAULT_PASSWORD, EsimProfileFactory, LineFactory, UserFactory
from tests.two_factor import totp_code

pytestmark = pytest.mark.django_db

LANGUAGES = ["en", "nb", "zh-hans"]
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Test"


@pytest.fixture
def profile(line: Any) -> Any:
    return EsimProfileFactory(
        line=line, state=EsimState.ASSIGNED, assigned_at=timezone.now(), matching_id="K2-4F7Q-9ZPX-TEST"
    )


def my_esim_url(line: Any) -> str:
    return f"/lines/{line.pk}/esim/"


def install_url(line: Any) -> str:
    return f"/lines/{line.pk}/esim/install/"


def reauthenticate(client: Client, password: str = DEFAULT_PASSWORD) -> None:
    """Sign in again through allauth's own page, as the customer would."""
    response = client.post("/accounts/reauthenticate/", {"password": password})
    assert response.status_code == 302, response.content.decode()[:500]


def age_reauthentication(client: Client, seconds: float) -> None:
    """Move the session's sign-in records ``seconds`` into the past."""
    session = client.session
    records = session[AUTHENTICATION_METHODS_SESSION_KEY]
    for record in records:
        record["at"] -= seconds
    session[AUTHENTICATION_METHODS_SESSION_KEY] = records
    session.save()


# --- My eSIM ------------------------------------------------------------------


def test_my_esim_shows_the_profile_in_use_without_its_code(signed_in, line, profile):
    response = signed_in.get(my_esim_url(line))
    page = response.content.decode()
    assert response.status_code == 200
    assert f"ICCID ending in {profile.iccid[-4:]}" in page
    assert "Ready to install" in page
    assert profile.matching_id not in page
    assert f'href="{install_url(line)}"' in page


def test_the_line_page_links_to_my_esim_and_names_the_profile(signed_in, line, profile):
    page = signed_in.get(f"/lines/{line.pk}/").content.decode()
    assert f'href="{my_esim_url(line)}"' in page
    assert f"ICCID ending in {profile.iccid[-4:]}" in page and "Ready to install" in page
    assert profile.matching_id not in page


def test_a_line_without_a_profile_says_so(signed_in, line):
    page = signed_in.get(my_esim_url(line)).content.decode()
    assert "This line has no eSIM profile yet" in page
    assert install_url(line) not in page
    assert signed_in.get(install_url(line)).status_code == 302


def test_an_installed_profile_does_not_show_its_code_again(signed_in, line, profile):
    profile.state = EsimState.INSTALLED
    profile.save()
    reauthenticate(signed_in)
    page = signed_in.get(my_esim_url(line)).content.decode()
    assert "Installed" in page
    assert "you need a replacement eSIM" in page
    assert 'href="/help/#help-replacement"' in page
    response = signed_in.get(install_url(line))
    assert response.status_code == 302 and response["Location"] == my_esim_url(line)
    assert signed_in.get(f"{install_url(line)}qr.png").status_code == 404
    assert profile.matching_id not in signed_in.get(response["Location"]).content.decode()
    assert not EsimCodeView.objects.exists()


def test_a_closed_line_offers_no_install(signed_in, line, profile):
    line.status = LineStatus.CANCELLED
    line.save()
    reauthenticate(signed_in)
    page = signed_in.get(my_esim_url(line)).content.decode()
    assert "This line is closed" in page
    assert install_url(line) not in page
    assert signed_in.get(install_url(line))["Location"] == my_esim_url(line)
    assert signed_in.get(f"{install_url(line)}qr.svg").status_code == 404


# --- Install: a fresh sign-in first --------------------------------------------


def test_install_asks_to_sign_in_again_first(signed_in, line, profile):
    response = signed_in.get(install_url(line))
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/reauthenticate/?next=%2Flines%2F{line.pk}%2Fesim%2Finstall%2F"
    assert signed_in.get(f"{install_url(line)}qr.png")["Location"].startswith("/accounts/reauthenticate/")
    assert not EsimCodeView.objects.exists()


def test_a_wrong_password_shows_no_code(signed_in, line, profile):
    signed_in.post("/accounts/reauthenticate/", {"password": "not-the-password"})
    assert signed_in.get(install_url(line)).status_code == 302


def test_after_signing_in_again_the_code_is_shown_and_recorded(signed_in, customer, line, profile):
    reauthenticate(signed_in)
    response = signed_in.get(install_url(line), HTTP_USER_AGENT=BROWSER, REMOTE_ADDR="198.51.100.7")
    page = response.content.decode()
    assert response.status_code == 200
    assert profile.matching_id in page and profile.smdp_address in page
    assert (
        'href="https://esimsetup.apple.com/esim_qrcode_provisioning?carddata='
        "LPA%3A1%24smdp.nordlys.test%24K2-4F7Q-9ZPX-TEST" in page
    )
    assert f'src="{install_url(line)}qr.png"' in page
    assert 'data-copy-target="esim-matching-id"' in page and "js/copy-code.js" in page
    assert "no-store" in response["Cache-Control"]
    view = EsimCodeView.objects.get()
    assert (view.user, view.line, view.profile, view.channel) == (customer, line, profile, EsimCodeChannel.PAGE)
    assert (view.ip_address, view.user_agent) == ("198.51.100.7", BROWSER)


def test_the_sign_in_again_holds_for_five_minutes(signed_in, line, profile):
    reauthenticate(signed_in)
    age_reauthentication(signed_in, 290)
    assert signed_in.get(install_url(line)).status_code == 200
    age_reauthentication(signed_in, 20)
    assert signed_in.get(install_url(line)).status_code == 302


def test_a_first_sign_in_alone_is_not_enough(client, customer, line, profile):
    customer.phone = None  # no phone to verify on the way in
    customer.save()
    signed = client.post("/accounts/login/", {"login": customer.email, "password": DEFAULT_PASSWORD})
    assert signed["Location"] == "/dashboard/"
    assert client.get(install_url(line))["Location"].startswith("/accounts/reauthenticate/")


def test_a_customer_with_two_factor_must_pass_it(signed_in, customer, line, profile, totp_clock):
    TOTP.activate(customer, generate_totp_secret())
    reauthenticate(signed_in)  # the password alone
    response = signed_in.get(install_url(line))
    assert response["Location"].startswith("/accounts/2fa/reauthenticate/")
    signed_in.post("/accounts/2fa/reauthenticate/", {"code": totp_code(customer, at=totp_clock.now)})
    assert signed_in.get(install_url(line)).status_code == 200


def test_a_customer_without_a_password_is_asked_to_set_one(client, line, profile):
    customer = line.owner
    customer.set_unusable_password()
    customer.save()
    client.force_login(customer)
    assert client.get(install_url(line))["Location"] == "/accounts/password/set/"


# --- the QR code ----------------------------------------------------------------


def test_the_qr_code_comes_as_png_and_svg_never_cached_and_each_recorded(signed_in, line, profile):
    reauthenticate(signed_in)
    png = signed_in.get(f"{install_url(line)}qr.png")
    svg = signed_in.get(f"{install_url(line)}qr.svg")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert svg["Content-Type"] == "image/svg+xml" and b"<svg" in svg.content
    assert svg["Content-Disposition"] == f'attachment; filename="nordlys-esim-{profile.iccid[-4:]}.svg"'
    assert all("no-store" in response["Cache-Control"] for response in (png, svg))
    channels = sorted(EsimCodeView.objects.values_list("channel", flat=True))
    assert channels == [EsimCodeChannel.QR_PNG, EsimCodeChannel.QR_SVG]


def test_the_code_is_in_no_url_the_customer_visits(signed_in, line, profile):
    reauthenticate(signed_in)
    page = signed_in.get(install_url(line)).content.decode()
    own_urls = [href for href in page.split('"') if href.startswith("/")]
    assert own_urls and not any(profile.matching_id in href for href in own_urls)


# --- the email --------------------------------------------------------------------


def test_the_code_is_emailed_only_when_asked(signed_in, customer, line, profile, django_capture_on_commit_callbacks):
    reauthenticate(signed_in)
    with django_capture_on_commit_callbacks(execute=True):
        signed_in.get(install_url(line))
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(f"{install_url(line)}email/", HTTP_USER_AGENT=BROWSER)
    assert response["Location"] == install_url(line)
    assert "no-store" in response["Cache-Control"]
    [message] = mail.outbox
    assert message.to == [customer.email]
    assert profile.matching_id in message.body
    assert message.attachments[0][0] == f"esim-{profile.iccid[-4:]}.svg"
    emailed = EsimCodeView.objects.get(channel=EsimCodeChannel.EMAIL)
    assert (emailed.user, emailed.user_agent) == (customer, BROWSER)


def test_emailing_the_code_needs_a_fresh_sign_in_too(signed_in, line, profile):
    response = signed_in.post(f"{install_url(line)}email/")
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert mail.outbox == [] and not EsimCodeView.objects.exists()


def test_an_account_without_email_is_told_so(client, line, profile):
    customer = line.owner
    customer.email = None
    customer.save()
    client.force_login(customer)
    reauthenticate(client)
    response = client.post(f"{install_url(line)}email/", follow=True)
    assert "Your account has no email address" in response.content.decode()
    assert mail.outbox == [] and not EsimCodeView.objects.filter(channel=EsimCodeChannel.EMAIL).exists()


# --- the confirmation code -----------------------------------------------------------


def test_a_confirmation_code_not_emailed_yet_is_emailed_when_the_owner_opens_install_once_and_never_in_the_qr(
    signed_in, customer, line, profile, django_capture_on_commit_callbacks
):
    profile.confirmation_code_required = True
    profile.save()
    # The worker made it for ConfirmOrder; its email has not left yet.
    issued_code = esim_confirmation_code_issue(profile=profile)
    reauthenticate(signed_in)
    with django_capture_on_commit_callbacks(execute=True):
        first = signed_in.get(install_url(line)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        second = signed_in.get(install_url(line)).content.decode()
    [message] = mail.outbox
    code = next(word for word in message.body.split() if word.isdigit() and len(word) == 8)
    assert code == issued_code
    assert profile.matching_id not in message.body
    assert code not in first and code not in second
    assert f"We are emailing it to {customer.email}" in first
    assert f"We emailed it to {customer.email}" in second
    issued = EsimConfirmationCode.objects.get(profile=profile)
    assert code not in issued.code_hash and issued.seed == ""
    assert esim_confirmation_code_matches(profile=profile, code=code)
    assert not esim_confirmation_code_matches(profile=profile, code="00000000" if code != "00000000" else "11111111")


# --- other customers and languages -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("get", ""),
        ("get", "install/"),
        ("get", "install/qr.png"),
        ("get", "install/qr.svg"),
        ("post", "install/email/"),
    ],
)
def test_another_customers_line_is_not_found(stranger_client, line, profile, method, suffix):
    response = getattr(stranger_client, method)(f"/lines/{line.pk}/esim/{suffix}")
    assert response.status_code == 404
    assert not EsimCodeView.objects.exists()


def test_a_stranger_who_signed_in_again_still_gets_404(line, profile):
    stranger = UserFactory()
    client = Client()
    client.force_login(stranger)
    reauthenticate(client)
    assert client.get(install_url(line)).status_code == 404
    assert client.get(f"{install_url(line)}qr.png").status_code == 404


@pytest.mark.parametrize(
    ("language", "ready", "install", "warning"),
    [
        ("en", "Ready to install", "Scan the QR code", "Never delete the eSIM from your phone."),
        ("nb", "Klar til installering", "Skann QR-koden", "Slett aldri eSIM-en fra telefonen."),
        ("zh-hans", "可以安装", "扫描二维码", "切勿从手机中删除 eSIM。"),
    ],
)
def test_my_esim_and_install_speak_the_customers_language(client, language, ready, install, warning):
    customer = UserFactory(language=language)
    line = LineFactory(owner=customer, with_period=True)
    EsimProfileFactory(line=line, state=EsimState.ASSIGNED, assigned_at=timezone.now())
    client.force_login(customer)
    page = client.get(my_esim_url(line)).content.decode()
    assert f'<html lang="{language}">' in page and ready in page and warning in page
    reauthenticate(client)
    page = client.get(install_url(line)).content.decode()
    assert install in page and warning in page
