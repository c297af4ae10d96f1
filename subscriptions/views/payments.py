"""The endpoint the payment providers' server-to-server callbacks reach."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from subscriptions.errors import CustomerError
from subscriptions.models import CardSetup, SetupStatus
from subscriptions.payments import AgreementUpdate, InvalidCallback, SetupUpdate, get_provider
from subscriptions.services.autorenew import auto_renew_charge_settle, auto_renew_setup_finish, vipps_agreement_ended
from subscriptions.services.settlement import payment_update_apply

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def payment_callback(request: HttpRequest, provider_name: str) -> HttpResponse:
    """A provider tells us about a payment, a card setup or a saved method
    that ended (a Vipps MobilePay agreement). Anything not genuine is a 400
    (what is wrong is logged, not told); anything recorded (even a repeat) is a 200, so
    the provider stops sending; an error of ours is a 500, and a card setup
    the provider would not confirm when asked a 503, so it sends again. A
    payment that decides an auto-renew charge's order finishes that charge
    here, as the charge's own run would."""
    try:
        provider = get_provider(provider_name)
    except LookupError:
        raise Http404("No such provider") from None
    try:
        update = provider.verify_callback(body=request.body, headers=request.headers)
    except InvalidCallback as error:
        logger.warning("refused a %s callback: %s", provider_name, error)
        # Why stays in our log: the caller may be someone probing for what we check.
        return HttpResponseBadRequest("invalid callback", content_type="text/plain")
    if isinstance(update, SetupUpdate):
        if not _card_setup_confirm(provider=provider.name, update=update):
            return HttpResponse("not confirmed yet, send it again", content_type="text/plain", status=503)
    elif isinstance(update, AgreementUpdate):
        vipps_agreement_ended(provider=provider.name, agreement_id=update.method_id, status=update.status)
    elif update is not None:
        event = payment_update_apply(provider=provider.name, update=update)
        if event.order_id is not None:
            auto_renew_charge_settle(order_id=event.order_id)
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
