"""Showing an eSIM's activation code to its owner: the audit row of each
showing, and the email of the code when the customer asks for it (the
confirmation code of a profile that needs one is esim_confirmation's).

The activation code (its matching ID) never goes into a task's arguments,
a log line or an audit row: tasks carry ids and load the profile."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from subscriptions.esim_qr import esim_activation_code, esim_qr_svg
from subscriptions.models import EsimCodeChannel, EsimCodeView, EsimProfile, Line
from subscriptions.selectors.esim_install import READY_STATES

USER_AGENT_LENGTH = 300
APPLE_ONE_TAP = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="


def esim_code_view_record(
    *,
    profile: EsimProfile,
    line: Line,
    by: User,
    channel: str,
    ip_address: str | None,
    user_agent: str,
) -> EsimCodeView:
    """The audit row of one showing of ``profile``'s code to ``by``."""
    return EsimCodeView.objects.create(
        profile=profile,
        line=line,
        user=by,
        channel=EsimCodeChannel(channel),
        ip_address=ip_address,
        user_agent=user_agent[:USER_AGENT_LENGTH],
    )


@transaction.atomic
def esim_code_email_request(
    *, profile: EsimProfile, line: Line, by: User, ip_address: str | None, user_agent: str
) -> bool:
    """The customer asked to have the code emailed: the audit row now, the
    email from a worker once this commits. False (and nothing done) if the
    account has no email address."""
    from subscriptions.tasks import send_esim_code_email

    if not by.email:
        return False
    view = esim_code_view_record(
        profile=profile, line=line, by=by, channel=EsimCodeChannel.EMAIL, ip_address=ip_address, user_agent=user_agent
    )
    transaction.on_commit(lambda: send_esim_code_email.delay(view.pk))
    return True


def esim_code_email_send(*, code_view_id: int) -> bool:
    """Email the activation code the audit row ``code_view_id`` recorded as
    asked for, in the customer's language, with the QR code attached as SVG.
    Nothing if the profile was installed or disabled since (its code no
    longer installs anything). True if an email left."""
    view = EsimCodeView.objects.select_related("profile", "user", "line").get(pk=code_view_id)
    user, profile = view.user, view.profile
    if user is None or not user.email or profile.line_id != view.line_id:
        return False
    if profile.state not in READY_STATES:
        return False
    code = esim_activation_code(profile)
    with translation.override(user.language):
        context = {
            "number": view.line.number_display,
            "smdp_address": profile.smdp_address,
            "matching_id": profile.matching_id,
            "confirmation_code_required": profile.confirmation_code_required,
            "apple_link": esim_apple_link(code),
            "page_url": settings.SITE_URL + reverse("my_esim", args=[view.line_id]),
        }
        message = EmailMessage(
            subject=render_to_string("emails/esim_code_subject.txt", context).strip(),
            body=render_to_string("emails/esim_code_message.txt", context),
            to=[user.email],
        )
        message.attach(f"esim-{profile.iccid[-4:]}.svg", esim_qr_svg(code), "image/svg+xml")
        message.send()
    return True


def esim_apple_link(code: str) -> str:
    """The one-tap install link for iPhone (iOS 17.5 and later)."""
    return APPLE_ONE_TAP + quote(code, safe="")
