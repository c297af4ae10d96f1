"""The embedded default (`make run`): SQLite, Celery over the filesystem,
mail and SMS written under var/ and echoed to the console. Needs no server."""

import os

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_TRANSPORT_OPTIONS,
    INSTALLED_APPS,
    NETWORK_PROVIDERS,
    PAYMENT_PROVIDERS,
    SANDBOX_NETWORK_PROVIDER,
    SANDBOX_PAYMENT_PROVIDER,
    SANDBOX_SMDP_PROVIDER,
    SMDP_PROVIDERS,
    STATIC_ROOT,
    VAR_DIR,
    env_list,
)

DEBUG = True
SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret-6f1c2e0b9a4d4e7f8c3b")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

EMAIL_BACKEND = "portal.mail.FileAndConsoleBackend"
SMS_BACKEND = os.environ.get("SMS_BACKEND", "portal.sms.FileBackend")
SMS_FILE_ECHO = True

# A queue in files (portal/broker.py: kombu's filesystem transport that keeps a
# taken message's file until its task is acknowledged, so a killed worker
# loses nothing): the web process, the worker and beat share one folder. The
# host name means nothing to this transport; without one kombu warns on every
# connection that it falls back to localhost.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "durablefs://localhost/")
for folder in ("queue", "queue/processing", "control"):
    (VAR_DIR / "celery" / folder).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "data_folder_in": str(VAR_DIR / "celery" / "queue"),
    "data_folder_out": str(VAR_DIR / "celery" / "queue"),
    "control_folder": str(VAR_DIR / "celery" / "control"),
    "store_processed": False,
    # A taken message whose worker has not touched it for this long is put
    # back in the queue: longer than a task may run (CELERY_TASK_TIME_LIMIT).
    "visibility_timeout": 300,
    # How often an idle worker looks for new files; short, so that a task
    # starts at once and Ctrl-C stops the worker before honcho kills it.
    "polling_interval": 0.2,
}

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

# whitenoise serves straight from static/ while DEBUG is on; it wants the root to exist.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
