"""The payment providers' side of the portal: the endpoint their
server-to-server callbacks reach, and the sandbox provider's hosted page,
which stands in for a third party's (its own look, no sign-in: whoever has
the payment's link may pay it, as on a real provider's page)."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from subscriptions.errors import CustomerError
from subscriptions.models import CardSetup, SandboxMode, SandboxOutcome, SandboxPayment, SetupStatus
from subscriptions.payments import InvalidCallback, SetupUpdate, get_provider
from subscriptions.payments.sandbox import sandbox_decide
from subscriptions.services.autorenew import auto_renew_setup_finish
from subscriptions.services.orders import payment_update_apply
from subscriptions.tasks import sandbox_send_callback

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def payment_callback(request: HttpRequest, provider_name: str) -> HttpResponse:
    """A provider tells us about a payment or a card setup. Anything not
    genuine is a 400; anything recorded (even a repeat) is a 200, so the
    provider stops sending; an error of ours is a 500, and a card setup the
    provider would not confirm when asked a 503, so it sends again."""
    try:
        provider = get_provider(provider_name)
    except LookupError:
        raise Http404("No such provider") from None
    try:
        update = provider.verify_callback(body=request.body, headers=request.headers)
    except InvalidCallback as error:
        logger.warning("refused a %s callback: %s", provider_name, error)
        return HttpResponseBadRequest("invalid callback")
    if isinstance(update, SetupUpdate):
        if not _card_setup_confirm(provider=provider.name, update=update):
            return HttpResponse("not confirmed yet, send it again", content_type="text/plain", status=503)
    elif update is not None:
        payment_update_apply(provider=provider.name, update=update)
    return HttpResponse("ok", content_type="text/plain")


def _card_setup_confirm(*, provider: str, update: SetupUpdate) -> bool:
    """A card saved (or not) on the provider's page: finish turning
    auto-renew on as the browser's return does, in case it never comes. Run
    twice, or after the return, it changes nothing. False while the provider
    could not confirm how it went (it did not answer): the callback is to be
    sent again."""
    setup = CardSetup.objects.filter(provider=provider, setup_id=update.setup_id).first()
    if setup is None:
        logger.info("%s callback about card setup %s, which is not ours", provider, update.setup_id)
        return True
    try:
        setup = auto_renew_setup_finish(setup=setup)
    except CustomerError as error:
        # The line or plan changed meanwhile; the return page tells the customer.
        logger.info("card setup %s not finished from the callback: %s", setup.public_id, error)
        return True
    return setup.status != SetupStatus.PENDING


@require_http_methods(["GET", "POST"])
def sandbox_pay(request: HttpRequest, payment_id: str) -> HttpResponse:
    """The sandbox's hosted page: the tester picks what happens, then the
    browser goes back to the shop."""
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
    sandbox_send_callback.delay(payment.payment_id)
    return redirect("sandbox_pay", payment_id=payment.payment_id)
