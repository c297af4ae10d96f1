"""Tests. Two kinds of run share this module:

- the default run: SQLite in memory, tasks run eagerly, locmem mail and SMS;
- the services run (PORTAL_TEST_SERVICES=1, `make test` does both): PostgreSQL
  and a real Celery worker over the real Redis, for the tests marked
  ``services``.
"""

import json
import os
from pathlib import Path

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_TRANSPORT_OPTIONS,
    INSTALLED_APPS,
    LAYOUT_CACHE,
    NETWORK_PROVIDERS,
    PAYMENT_PROVIDERS,
    POSTGRES_PREPARED,
    SANDBOX_NETWORK_PROVIDER,
    SANDBOX_PAYMENT_PROVIDER,
    SANDBOX_SMDP_PROVIDER,
    SMDP_PROVIDERS,
    VAR_DIR,
    env_bool,
)

SECRET_KEY = "test-only-not-secret"  # noqa: S105
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "layout": LAYOUT_CACHE}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SMS_BACKEND = "portal.sms.LocmemBackend"

# The pretend third parties (the sandbox app), its payment provider the default.
INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]
PAYMENT_PROVIDERS = {**PAYMENT_PROVIDERS, **SANDBOX_PAYMENT_PROVIDER}
PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "sandbox")
VIPPS_PAYMENT_PROVIDER = os.environ.get("VIPPS_PAYMENT_PROVIDER", "sandbox_vipps")
VIPPS_RECURRING_PROVIDER = os.environ.get("VIPPS_RECURRING_PROVIDER", "sandbox_recurring")
# Its pretend SM-DP+ and network, likewise.
SMDP_PROVIDERS = {**SMDP_PROVIDERS, **SANDBOX_SMDP_PROVIDER}
SMDP_PROVIDER = os.environ.get("SMDP_PROVIDER", "sandbox")
NETWORK_PROVIDERS = {**NETWORK_PROVIDERS, **SANDBOX_NETWORK_PROVIDER}
NETWORK_PROVIDER = os.environ.get("NETWORK_PROVIDER", "sandbox")

SERVICES = env_bool("PORTAL_TEST_SERVICES")
if SERVICES:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            # Two test runs on one machine each need their own (test_<name>).
            "NAME": os.environ.get("PORTAL_TEST_DB", "portal"),
            # As production runs them (settings/base.py).
            "OPTIONS": POSTGRES_PREPARED,
        }
    }
    CELERY_BROKER_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    CELERY_TASK_ALWAYS_EAGER = False
    # A worker a test starts as a process of its own (to kill it) is given
    # the test's database, broker and broker options by name.
    if os.environ.get("TEST_WORKER_DATABASE"):
        DATABASES["default"]["NAME"] = os.environ["TEST_WORKER_DATABASE"]
    CELERY_BROKER_URL = os.environ.get("TEST_WORKER_BROKER_URL", CELERY_BROKER_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        **json.loads(os.environ.get("TEST_WORKER_TRANSPORT_OPTIONS", "{}")),
    }
    # ... and, when the test says, a mail server and a folder for its texts.
    if os.environ.get("TEST_WORKER_EMAIL_PORT"):
        EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        EMAIL_HOST = "127.0.0.1"
        EMAIL_PORT = int(os.environ["TEST_WORKER_EMAIL_PORT"])
    if os.environ.get("TEST_WORKER_SMS_FILE_PATH"):
        SMS_BACKEND = "portal.sms.FileBackend"
        SMS_FILE_PATH = Path(os.environ["TEST_WORKER_SMS_FILE_PATH"])
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True

# whitenoise serves from the finders here; an empty root keeps it quiet.
STATIC_ROOT = VAR_DIR / "test-staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
