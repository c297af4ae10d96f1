"""Production: PostgreSQL and Redis from the environment, SMTP mail, HTTPS only.

Refuses to start when a required variable is missing, so a half-configured
deployment fails at boot rather than at the first customer."""

import hashlib
import hmac
import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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
    env_bool,
    env_list,
)

REQUIRED = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "PRIVATE_MEDIA_ROOT")
missing = [name for name in REQUIRED if not os.environ.get(name, "").strip()]
if missing:
    raise ImproperlyConfigured(f"Production settings need these environment variables: {', '.join(missing)}")

SECRET_KEY = os.environ["SECRET_KEY"]
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters of random text")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
DEBUG = False

database = dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True)
if database["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://…)")
if env_bool("DATABASE_PREPARED_STATEMENTS", True):
    database["OPTIONS"] = {**database.get("OPTIONS", {}), **POSTGRES_PREPARED}
DATABASES = {"default": dict(database)}

REDIS_URL = os.environ["REDIS_URL"]
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
    "layout": LAYOUT_CACHE,
}
# Sessions are read from Redis and written through to PostgreSQL: a signed-in
# page costs no SQL for its session, and a Redis flush signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
# An ETA or retry countdown longer than this would be delivered twice by Redis.
CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "visibility_timeout": 6 * 3600}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
SMS_BACKEND = os.environ.get("SMS_BACKEND", "portal.sms.HttpGatewayBackend")
# SMS commands only when asked for, and then with the key shared with the
# gateway (never the development default; the system check insists).
SMS_INBOUND_ENABLED = env_bool("SMS_INBOUND_ENABLED")
SMS_INBOUND_SECRET = os.environ.get("SMS_INBOUND_SECRET", "")
# The number customers text commands to, which replies come from and help
# texts name: the operator's own (the demo's 2290 is nobody's).
SMS_SERVICE_NUMBER = os.environ.get("SMS_SERVICE_NUMBER", "")

# HTTPS everywhere; the proxy in front terminates TLS and says so in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# That proxy appends the client's address to X-Forwarded-For: without trusting
# it, every customer would have the proxy's address, and the per-address
# limits (sign-in, wrong voucher codes) would be limits for the whole site.
ALLAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "1"))
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

SITE_URL = os.environ.get("SITE_URL", f"https://{ALLOWED_HOSTS[0]}").rstrip("/")

# The sandbox signs its callbacks with a key of its own, derived from the
# secret key unless one is given, so no deployment uses the public default.
SANDBOX_PAY_SECRET = (
    os.environ.get("SANDBOX_PAY_SECRET")
    or hmac.new(SECRET_KEY.encode(), b"sandbox-pay-callbacks", hashlib.sha256).hexdigest()
)
VOUCHER_HASH_KEY = (
    os.environ.get("VOUCHER_HASH_KEY") or hmac.new(SECRET_KEY.encode(), b"voucher-codes", hashlib.sha256).hexdigest()
)

# Real money only. A staging site that wants the sandbox's pretend payments
# (which credit renewals and top-ups with nothing charged) sets this loudly
# named variable; otherwise the sandbox app and its pages do not exist here, and
# the system check stops web, workers and `migrate` until PAYMENT_PROVIDER
# names a real provider with its keys.
PRETEND_PARTS_ALLOWED = False
SANDBOX_PAYMENTS_TAKE_NO_MONEY = env_bool("SANDBOX_PAYMENTS_TAKE_NO_MONEY")
PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "").strip()
if SANDBOX_PAYMENTS_TAKE_NO_MONEY:
    INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]
    PAYMENT_PROVIDERS = {**PAYMENT_PROVIDERS, **SANDBOX_PAYMENT_PROVIDER}

# Real eSIMs and a real network likewise: the SM-DP+ (ES2+) and the
# operator's provisioning API, with their keys, unless a staging site asks
# for the sandbox's pretend ones by this name (no profile is really made, no
# number really blocked or moved).
SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND = env_bool("SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND")
SMDP_PROVIDER = os.environ.get("SMDP_PROVIDER", "").strip()
NETWORK_PROVIDER = os.environ.get("NETWORK_PROVIDER", "").strip()
# Shared with the SM-DP+ (never the development default).
SMDP_NOTIFY_SECRET = os.environ.get("SMDP_NOTIFY_SECRET", "")
if SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND:
    if "sandbox" not in INSTALLED_APPS:
        INSTALLED_APPS = [*INSTALLED_APPS, "sandbox"]
    SMDP_PROVIDERS = {**SMDP_PROVIDERS, **SANDBOX_SMDP_PROVIDER}
    NETWORK_PROVIDERS = {**NETWORK_PROVIDERS, **SANDBOX_NETWORK_PROVIDER}
    SMDP_NOTIFY_SECRET = (
        SMDP_NOTIFY_SECRET or hmac.new(SECRET_KEY.encode(), b"sandbox-smdp-notifications", hashlib.sha256).hexdigest()
    )
