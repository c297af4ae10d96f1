"""My eSIM: the profile in use on a line, and Install (the QR code, the
manual details and the one-tap link for iPhone).

The line is fetched only if the signed-in customer holds it (a 404 first,
for anyone else). The activation code is shown only to a customer who signed
in again within ``ACCOUNT_REAUTHENTICATION_TIMEOUT`` (accounts.reauthentication),
only for a profile not yet installed on a line not closed; every response
carrying it is ``no-store`` and writes an audit row. The code never goes into
a URL: the pages and images are addressed by the line's id."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from accounts.reauthentication import reauthentication_response
from accounts.views import AuthenticatedRequest
from subscriptions.esim_qr import esim_activation_code, esim_qr_png, esim_qr_svg
from subscriptions.models import EsimCodeChannel
from subscriptions.selectors.esim_install import LineEsim, esim_confirmation_code_sent, line_esim_get_owned
from subscriptions.services.esim_confirmation import esim_confirmation_code_request
from subscriptions.services.esim_install import esim_apple_link, esim_code_email_request, esim_code_view_record
from subscriptions.views.vouchers import client_ip


@login_required
@require_GET
def my_esim(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    esim = line_esim_get_owned(user=request.user, line_id=line_id)
    return render(request, "subscriptions/my_esim.html", {"esim": esim, "line": esim.line})


@never_cache
@login_required
@require_GET
def esim_install(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """The code, after a fresh sign-in; a profile that cannot be installed
    sends the customer back to My eSIM, which says why."""
    esim = line_esim_get_owned(user=request.user, line_id=line_id)
    if not esim.installable:
        return redirect("my_esim", line_id)
    if (reauthenticate := reauthentication_response(request, user=request.user)) is not None:
        return reauthenticate
    profile = esim.profile
    assert profile is not None  # installable says so
    _record(request, esim, EsimCodeChannel.PAGE)
    esim_confirmation_code_request(profile=profile, by=request.user)
    code = esim_activation_code(profile)
    context = {
        "esim": esim,
        "line": esim.line,
        "profile": profile,
        "apple_link": esim_apple_link(code),
        "confirmation_code": esim_confirmation_code_sent(profile=profile)
        if profile.confirmation_code_required
        else None,
    }
    return render(request, "subscriptions/esim_install.html", context)


@never_cache
@login_required
@require_GET
def esim_qr(request: AuthenticatedRequest, line_id: int, kind: str) -> HttpResponse:
    """The QR code as PNG (on screen) or SVG (to print or keep)."""
    esim = line_esim_get_owned(user=request.user, line_id=line_id)
    if not esim.installable or esim.profile is None:
        raise Http404("No eSIM to install")
    if (reauthenticate := reauthentication_response(request, user=request.user)) is not None:
        return reauthenticate
    code = esim_activation_code(esim.profile)
    if kind == "png":
        _record(request, esim, EsimCodeChannel.QR_PNG)
        return HttpResponse(esim_qr_png(code), content_type="image/png")
    _record(request, esim, EsimCodeChannel.QR_SVG)
    response = HttpResponse(esim_qr_svg(code), content_type="image/svg+xml")
    response["Content-Disposition"] = f'attachment; filename="nordlys-esim-{esim.iccid_last4}.svg"'
    return response


@never_cache
@login_required
@require_POST
def esim_code_email(request: AuthenticatedRequest, line_id: int) -> HttpResponse:
    """Email the code, at the customer's request only."""
    esim = line_esim_get_owned(user=request.user, line_id=line_id)
    if not esim.installable or esim.profile is None:
        return redirect("my_esim", line_id)
    if (reauthenticate := reauthentication_response(request, user=request.user)) is not None:
        return reauthenticate
    sent = esim_code_email_request(
        profile=esim.profile,
        line=esim.line,
        by=request.user,
        ip_address=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    if sent:
        messages.success(request, _("We are emailing the install code to %(email)s.") % {"email": request.user.email})
    else:
        messages.error(request, _("Your account has no email address: add one on your profile first."))
    return redirect("esim_install", line_id)


def _record(request: AuthenticatedRequest, esim: LineEsim, channel: str) -> None:
    assert esim.profile is not None
    esim_code_view_record(
        profile=esim.profile,
        line=esim.line,
        by=request.user,
        channel=channel,
        ip_address=client_ip(request),
        user_agent=request.headers.get("user-agent", ""),
    )
