"""The sandbox provider's hosted page, which stands in for a third party's
(its own look, no sign-in: whoever has the payment's link may pay it, as on a
real provider's page)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_http_methods, require_POST

from sandbox.models import SandboxMode, SandboxOutcome, SandboxPayment
from sandbox.provider import sandbox_decide
from sandbox.tasks import send_callback


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
