"""The sandbox's pages, which stand in for third parties' (their own look,
no sign-in): the payment provider's hosted page (whoever has the payment's
link may pay it, as on a real provider's page) and the pretend phone that
installs an eSIM profile from the pretend SM-DP+ and texts the service
number through the pretend SMS gateway."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.phone import normalize_phone
from sandbox.models import (
    SandboxMode,
    SandboxOutcome,
    SandboxPayment,
    SandboxSmdpNotification,
    SandboxVippsAgreement,
    SandboxVippsOutcome,
    SandboxVippsPayment,
    SmdpProfileState,
)
from sandbox.provider import sandbox_decide
from sandbox.smdp import WrongConfirmationCode, smdp_install, smdp_profile
from sandbox.sms import phone_conversation, phone_text_send
from sandbox.tasks import send_callback, send_download_progress, send_vipps_webhooks
from sandbox.vipps import agreement_decide, vipps_decide
from subscriptions.demo import DEMO_LINES
from subscriptions.iccid import is_valid_iccid


@require_http_methods(["GET", "POST"])
def sandbox_pay(request: HttpRequest, payment_id: str) -> HttpResponse:
    """The tester picks what happens, then the browser goes back to the shop."""
    payment = SandboxPayment.objects.filter(payment_id=payment_id).first()
    if payment is None:
        raise Http404("No such payment")
    if request.method == "POST":
        outcome = request.POST.get("outcome", "")
        if outcome in SandboxOutcome.values:
            payment = sandbox_decide(payment_id=payment_id, outcome=outcome) or payment
            return redirect(payment.return_url)
    with translation.override(payment.language):
        return render(request, "sandbox/pay.html", {"payment": payment, "outcomes": SandboxOutcome})


@require_http_methods(["GET", "POST"])
def sandbox_vipps(request: HttpRequest, reference: str) -> HttpResponse:
    """The pretend Vipps MobilePay approval page: the tester approves,
    rejects, lets it expire, or approves with captures that fail; then the
    browser goes back to the shop, as the app sends it back."""
    payment = SandboxVippsPayment.objects.filter(reference=reference).first()
    if payment is None:
        raise Http404("No such payment")
    if request.method == "POST" and request.POST.get("outcome", "") in SandboxVippsOutcome.values:
        payment = vipps_decide(reference=reference, outcome=request.POST["outcome"]) or payment
        return redirect(payment.return_url)
    return render(request, "sandbox/vipps.html", {"payment": payment, "outcomes": SandboxVippsOutcome})


@require_http_methods(["GET", "POST"])
def sandbox_vipps_agreement(request: HttpRequest, agreement_id: str) -> HttpResponse:
    """The pretend Vipps MobilePay page for an auto-renew agreement: approve
    it, approve it with charges that will fail, or reject it; then back to
    the shop."""
    agreement = SandboxVippsAgreement.objects.filter(agreement_id=agreement_id).first()
    if agreement is None:
        raise Http404("No such agreement")
    if request.method == "POST":
        agreement = agreement_decide(agreement_id=agreement_id, outcome=request.POST.get("outcome", "")) or agreement
        return redirect(agreement.return_url)
    return render(request, "sandbox/vipps_agreement.html", {"agreement": agreement, "outcomes": SandboxVippsOutcome})


@require_POST
def sandbox_vipps_replay(request: HttpRequest, reference: str) -> HttpResponse:
    """Send the payment's webhooks again, as Vipps may."""
    payment = SandboxVippsPayment.objects.filter(reference=reference).exclude(outcome="").first()
    if payment is None:
        raise Http404("No such payment")
    send_vipps_webhooks.delay(payment.reference)
    return redirect("sandbox_vipps", reference=payment.reference)


@require_POST
def sandbox_replay(request: HttpRequest, payment_id: str) -> HttpResponse:
    """Send the payment's callback again, as a provider replays an event.
    Only for a payment: the hosted page offers no replay for saving a card,
    whose outcome the portal takes from the browser's return as well."""
    payment = SandboxPayment.objects.filter(payment_id=payment_id, mode=SandboxMode.PAYMENT).exclude(outcome="").first()
    if payment is None:
        raise Http404("No such payment")
    send_callback.delay(payment.payment_id)
    return redirect("sandbox_pay", payment_id=payment.payment_id)


@require_http_methods(["GET", "POST"])
def sandbox_esim(request: HttpRequest, iccid: str) -> HttpResponse:
    """A pretend phone: "install" a profile the SM-DP+ has released, which
    sends the portal its signed download-progress notifications. A profile
    confirmed with a confirmation code asks for it and refuses a wrong one.
    A second press, or a press on a profile not released, changes nothing;
    "send again" queues any notification the portal has not taken."""
    if not is_valid_iccid(iccid):
        raise Http404("No such profile")
    error = ""
    if request.method == "POST":
        if request.POST.get("action") == "install":
            try:
                smdp_install(iccid=iccid, confirmation_code=request.POST.get("confirmation_code", ""))
            except WrongConfirmationCode:
                error = str(_("That is not the confirmation code. The eSIM was not installed."))
        elif request.POST.get("action") == "resend":
            send_download_progress.delay(iccid)
        if not error:
            return redirect("sandbox_esim", iccid=iccid)
    profile = smdp_profile(iccid=iccid)
    notifications = SandboxSmdpNotification.objects.filter(iccid=iccid)
    context = {
        "iccid": iccid,
        "profile": profile,
        "installable": profile is not None and profile.state == SmdpProfileState.RELEASED,
        "asks_confirmation_code": profile is not None and bool(profile.confirmation_code_hash),
        "error": error,
        "notifications": notifications,
        "undelivered": any(notification.delivered_at is None for notification in notifications),
    }
    return render(request, "sandbox/esim.html", context, status=400 if error else 200)


# While the last text waits for its answer this long, the phone page looks again by itself.
ANSWER_WAIT = timedelta(seconds=30)


class PhoneTextForm(forms.Form):
    number = forms.CharField(label=_("From the number"), max_length=20)
    text = forms.CharField(label=_("Text"), max_length=1600, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_number(self) -> str:
        return normalize_phone(self.cleaned_data["number"])


@require_http_methods(["GET", "POST"])
def sandbox_phone(request: HttpRequest) -> HttpResponse:
    """A pretend phone: text the service number from any number (the
    pretend gateway posts it to the portal, signed) and read the texts that
    number got back."""
    form = PhoneTextForm(request.POST or None, initial={"number": request.GET.get("number", DEMO_LINES[0].number)})
    if request.method == "POST" and form.is_valid():
        phone_text_send(number=form.cleaned_data["number"], text=form.cleaned_data["text"])
        query = urlencode({"number": form.cleaned_data["number"]})
        return redirect(f"{reverse('sandbox_phone')}?{query}#sandphone-latest")
    try:
        number = normalize_phone(str(form["number"].value() or ""))
    except ValidationError:
        number = ""
    conversation = phone_conversation(number=number) if number else []
    last = conversation[-1] if conversation else None
    context = {
        "form": form,
        "number": number,
        "demo_numbers": [(line.number, line.owner_email) for line in DEMO_LINES],
        "service_number": settings.SMS_SERVICE_NUMBER,
        "conversation": conversation,
        "waiting": last is not None and last.outgoing and timezone.now() - last.at < ANSWER_WAIT,
    }
    return render(request, "sandbox/phone.html", context)
