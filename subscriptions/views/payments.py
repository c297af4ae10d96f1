"""The endpoint the payment providers' server-to-server callbacks reach."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from subscriptions.errors import CustomerError
from subscriptions.models import CardSetup, SetupStatus
from subscriptions.payments import InvalidCallback, SetupUpdate, get_provider
from subscriptions.services.autorenew import auto_renew_setup_finish
from subscriptions.services.settlement import payment_update_apply

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
