"""The endpoint the SM-DP+'s download-progress notifications
(HandleDownloadProgressInfo) reach."""

from __future__ import annotations

import logging

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from subscriptions.services.esim import esim_profile_installed
from subscriptions.smdp import InvalidNotification, get_smdp

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def esim_notify(request: HttpRequest, provider_name: str) -> HttpResponse:
    """Anything not genuine (forged, stale, malformed) is a 400; anything
    genuine is a 200, a repeat included, so the SM-DP+ stops sending. Only
    a successful install changes a profile; the other points are logged."""
    try:
        smdp = get_smdp(provider_name)
    except LookupError:
        raise Http404("No such SM-DP+") from None
    try:
        progress = smdp.verify_notification(body=request.body, headers=request.headers)
    except InvalidNotification as error:
        logger.warning("refused a %s download notification: %s", provider_name, error)
        return HttpResponseBadRequest("invalid notification")
    if progress.installed:
        moved = esim_profile_installed(iccid=progress.iccid, at=progress.at)
        logger.info("profile %s installed (%s)", progress.iccid, "recorded" if moved else "nothing to change")
    else:
        logger.info(
            "profile %s at notification point %s: %s",
            progress.iccid,
            progress.notification_point,
            "succeeded" if progress.succeeded else "failed",
        )
    return HttpResponse("ok", content_type="text/plain")
