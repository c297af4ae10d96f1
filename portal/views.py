"""Site-wide pages: home, dashboard, help, health check."""

import logging

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.views import AuthenticatedRequest
from portal.celery import app as celery_app
from subscriptions.selectors import cancellations_open, dashboard_lines, replacements_open

logger = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("dashboard")
    return render(request, "portal/home.html")


@login_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    context = {
        "cards": dashboard_lines(user=request.user),
        "replacements": replacements_open(user=request.user),
        "cancellations": cancellations_open(user=request.user),
    }
    return render(request, "portal/dashboard.html", context)


@require_GET
def help_page(request: HttpRequest) -> HttpResponse:
    """Customer service's hours and contact details and what it can do, for
    anyone (no sign-in needed: a customer who lost their phone may not be able to)."""
    return render(request, "portal/help.html")


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _check_cache() -> None:
    cache.set("healthz", "ok", 10)
    if cache.get("healthz") != "ok":
        raise RuntimeError("cache did not return what was stored")


def _check_broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with each part "ok", or 503 naming what failed (details go to the log)."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            logger.exception("health check %s failed", name)
            results[name] = "error"
        else:
            results[name] = "ok"
    healthy = all(value == "ok" for value in results.values())
    return JsonResponse({"status": "ok" if healthy else "error", **results}, status=200 if healthy else 503)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A translated page instead of Django's English one; nothing was changed."""
    return render(request, "403_csrf.html", status=403)
