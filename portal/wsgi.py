"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.production")

application = get_wsgi_application()

# gunicorn runs no system checks: refuse to serve a site that would take
# pretend money, or none, or pretend eSIMs (subscriptions/checks.py).
from subscriptions.checks import refuse_to_start_on_pretend_parts  # noqa: E402

refuse_to_start_on_pretend_parts()
