"""The endpoint the SMS gateway posts received texts to."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from subscriptions.services.sms_commands import sms_inbound_receive
from subscriptions.sms_gateway import InvalidInbound, verify_inbound

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def sms_inbound(request: HttpRequest) -> HttpResponse:
    """Anything not genuine (forged, stale, malformed) is a 400; a genuine
    text is a 200, a replayed one too, so the gateway stops sending. The
    answer comes later, from a worker."""
    if not settings.SMS_INBOUND_ENABLED:
        raise Http404("SMS commands are off")
    try:
        text = verify_inbound(body=request.body, headers=request.headers)
    except InvalidInbound as error:
        logger.warning("refused a text from the SMS gateway: %s", error)
        return HttpResponseBadRequest("invalid text")
    inbound = sms_inbound_receive(text=text)
    logger.info("text %s from the gateway: %s", text.message_id, "taken" if inbound else "a replay, ignored")
    return HttpResponse("ok", content_type="text/plain")
