"""Settings shared by every mode. The mode modules (dev, production, test) start
with ``from .base import *`` and change only what differs."""

import os
from datetime import timedelta
from pathlib import Path

from csp.constants import NONE, SELF
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Everything the embedded default writes at run time (database, broker queue,
# mail and SMS files, cache) lives under one folder that git ignores.
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- Core -----------------------------------------------------------------

SECRET_KEY = os.environ.get("SECRET_KEY", "")
DEBUG = False
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "csp",
    "accounts",
    "subscriptions",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a signed-in customer's stored language wins over
    # the browser's and the cookie's.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # After messages and allauth: the support admin asks for two-factor first.
    "accounts.middleware.StaffTwoFactorMiddleware",
    "portal.middleware.RateLimitedMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "portal.support.support_contact",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# The embedded default is a SQLite file under var/; production overrides this
# from DATABASE_URL.

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- PostgreSQL (production and the service tests) -------------------------
# psycopg prepares a query the fifth time one connection runs it; PostgreSQL
# then runs it without parsing and planning it again, which was half of its
# work on the customer pages (`make bench`). Preparing needs server-side
# parameter binding. Django leaves both off for connection poolers that cannot
# keep prepared statements (PgBouncer in transaction mode); a deployment behind
# one sets DATABASE_PREPARED_STATEMENTS=false. Django's queries name their
# columns, so a migration that adds a column leaves the statements running
# workers prepared alone; one that changes a column's type makes them fail in
# the old workers until they restart (README, "How production runs").
POSTGRES_PREPARED = {"server_side_binding": True, "prepare_threshold": 5}

# --- Cache ----------------------------------------------------------------
# allauth keeps its rate limits in the cache, so it must be a real one in every
# mode. The file cache is shared by the web server and the worker processes.

# "layout" holds the page layout's fragments that are the same for every
# visitor of a language (the navigation, the asset links): in each process's
# own memory, rebuilt after a restart, so a deployment's template changes show
# at once. The embedded default keeps none, so an edited template shows on the
# next request.
LAYOUT_CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "layout"}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": VAR_DIR / "cache",
    },
    "layout": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"},
}

# --- Users and sign-in (allauth) ------------------------------------------

AUTH_USER_MODEL = "accounts.User"
# Sign-in by email and password (Django's), and by phone number or a code
# (allauth's). Sessions name the backend that signed them in.
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"

ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {
    "login": "accounts.forms.LoginForm",
    "signup": "accounts.forms.SignupForm",
    "request_login_code": "accounts.forms.RequestLoginCodeForm",
}
ACCOUNT_LOGIN_METHODS = {"phone", "email"}
# Email and phone are each optional on the form; the signup form asks for at
# least one of them (allauth's W001 check cannot see that rule).
ACCOUNT_SIGNUP_FIELDS = ["email", "phone", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_PHONE_VERIFICATION_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PREVENT_ENUMERATION = True
# Six digits: what a phone keyboard shows and what iOS/Android offer to autofill
# from an SMS. allauth allows 3 attempts per code, so guessing stays hopeless.
ALLAUTH_USER_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}
# How many proxies in front of us add themselves to X-Forwarded-For. allauth
# takes the client's address from there for its sign-in rate limits, and so
# does the voucher throttle; 0 (nothing in front) trusts the header not at all.
ALLAUTH_TRUSTED_PROXY_COUNT = 0
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# A sign-in again younger than this lets a customer see an eSIM's activation
# code (accounts/reauthentication.py); allauth's default, said out loud.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
SILENCED_SYSTEM_CHECKS = ["account.W001"]

MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Nordlys Mobil"

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Languages and time ---------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("zh-hans", "简体中文"),
    ("nb", "Norsk bokmål"),
    ("en", "English"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our changes to Django's date and number formats for a language.
FORMAT_MODULE_PATH = ["portal.formats"]
USE_I18N = True
TIME_ZONE = "Europe/Oslo"
USE_TZ = True
LANGUAGE_COOKIE_NAME = "portal_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Static files ------------------------------------------------------------
# Bootstrap and its icons come from npm into static/vendor/ (`make static`);
# nothing is loaded from a CDN.

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Email and SMS --------------------------------------------------------------
# Both leave through Celery tasks started on commit (accounts.tasks).

DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Nordlys Mobil <kundeservice@nordlys.test>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 20
EMAIL_FILE_PATH = VAR_DIR / "mail"

SMS_BACKEND = os.environ.get("SMS_BACKEND", "portal.sms.ConsoleBackend")
SMS_FILE_PATH = VAR_DIR / "sms"
SMS_SENDER = os.environ.get("SMS_SENDER", "Nordlys")
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = os.environ.get("SMS_GATEWAY_TOKEN", "")
SMS_GATEWAY_TIMEOUT = 10
# SMS commands (BALANCE, 余额, STATUS, …): the number customers text, the key
# the gateway signs each received text with (HMAC-SHA256; dev and tests have
# a public default) and how old a signature may be. Each number gets this many
# answers per window; texts beyond them are kept but not answered.
SMS_INBOUND_ENABLED = env_bool("SMS_INBOUND_ENABLED", True)
SMS_SERVICE_NUMBER = os.environ.get("SMS_SERVICE_NUMBER", "2290")
SMS_INBOUND_SECRET = os.environ.get("SMS_INBOUND_SECRET", "sandbox-sms-inbound-key")
SMS_INBOUND_TOLERANCE_SECONDS = 300
SMS_COMMANDS_PER_WINDOW = int(os.environ.get("SMS_COMMANDS_PER_WINDOW", "5"))
SMS_COMMANDS_WINDOW_SECONDS = int(os.environ.get("SMS_COMMANDS_WINDOW_SECONDS", "600"))

# Texts a visitor can make us send (sign-in and verification codes, notices,
# welcomes) cost money per message, far more to some countries: caps per clock
# hour (accounts/texts.py), per requesting address (a campus or office shares
# one, so a few people's worth), per destination country outside the Nordics
# and the EEA (where our customers' numbers are; elsewhere is where text fraud
# sends to), and in total (a bound on the bill whatever the spread).
TEXTS_PER_HOUR = {"address": 10, "country": 20, "total": 500}
TEXTS_UNCAPPED_COUNTRIES = frozenset(
    # The Nordics, with the Faroes, Greenland, Åland and Svalbard.
    {"NO", "SE", "DK", "FI", "IS", "FO", "GL", "AX", "SJ"}
    # The rest of the EEA.
    | {"AT", "BE", "BG", "HR", "CY", "CZ", "EE", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LI", "LT", "LU"}
    | {"MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES"}
)

# --- Celery -------------------------------------------------------------------

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 90
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Three queues, which every worker takes from in this order of priority:
# "celery", the default, for what someone waits on (callbacks, sign-in codes,
# receipts, the periodic sweeps themselves); "messages", the delivery of each
# message to a customer; "bulk", the chunks of lines a reminder sweep splits
# its work into, each claiming a thousand messages. A worker takes a chunk
# only when no message waits, so claimed reminders go out as they are
# claimed, not after the last chunk, and a sweep of 25,000 lines never holds
# back a sign-in code. Redis keeps the order (queue_order_strategy
# "priority", in the transport options of every mode that uses Redis); the
# embedded default's queue in files takes them in turn. A worker started
# without -Q takes all three; each queue needs at least one worker.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Each with its own routing key: left out, all would be bound under the default queue's key.
CELERY_TASK_QUEUES = (
    Queue("celery", routing_key="celery"),
    Queue("messages", routing_key="messages"),
    Queue("bulk", routing_key="bulk"),
)
CELERY_TASK_ROUTES = {
    "subscriptions.tasks.deliver_notification": {"queue": "messages"},
    "subscriptions.tasks.send_expiry_reminder_chunk": {"queue": "bulk"},
}
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"queue_order_strategy": "priority"}
# The periodic sweeps. Beat's database scheduler writes these into its
# tables when it starts (the admin shows them, and when they last ran); change
# them here, since a change made in the admin is overwritten at the next start.
CELERY_BEAT_SCHEDULE = {
    "Expire lines whose paid period ended": {
        "task": "subscriptions.tasks.expire_lapsed_lines",
        "schedule": timedelta(minutes=5),
    },
    "Reconcile pending card payments": {
        "task": "subscriptions.tasks.reconcile_orders",
        "schedule": timedelta(minutes=1),
    },
    "Charge lines due for auto-renew": {
        "task": "subscriptions.tasks.charge_auto_renewals",
        "schedule": timedelta(minutes=10),
    },
    "Send receipt emails not sent yet": {
        "task": "subscriptions.tasks.email_unsent_receipts",
        "schedule": timedelta(minutes=5),
    },
    "Provision eSIMs waiting for stock or left unfinished": {
        "task": "subscriptions.tasks.provision_waiting_esims",
        "schedule": timedelta(minutes=5),
    },
    "Delete identity document files past their retention": {
        "task": "accounts.tasks.delete_expired_identity_files",
        "schedule": timedelta(hours=1),
    },
    "End the cooling-off hour of replacement requests": {
        "task": "subscriptions.tasks.end_replacement_cooling_off",
        "schedule": timedelta(minutes=1),
    },
    "Delete data export files past their link's day": {
        "task": "subscriptions.tasks.delete_expired_data_exports",
        "schedule": timedelta(hours=1),
    },
    "Finish suspensions' network work and data exports whose tasks were lost": {
        "task": "subscriptions.tasks.finish_lost_customer_work",
        "schedule": timedelta(minutes=10),
    },
    "Delete usage records past their retention": {
        "task": "subscriptions.tasks.delete_old_usage_records",
        "schedule": timedelta(hours=6),
    },
    "Anonymise deleted accounts' receipts and credit notes past the bookkeeping period": {
        "task": "subscriptions.tasks.anonymise_old_bookkeeping_copies",
        "schedule": timedelta(hours=24),
    },
    "Send expiry reminders": {
        "task": "subscriptions.tasks.send_expiry_reminders",
        "schedule": timedelta(minutes=5),
    },
    "Send notices before automatic renewals": {
        "task": "subscriptions.tasks.send_auto_renew_notices",
        "schedule": timedelta(minutes=15),
    },
    "Send messages whose time has come (texts after 09:00, retries)": {
        "task": "subscriptions.tasks.send_waiting_notifications",
        "schedule": timedelta(minutes=1),
    },
    "Finish cancellations left unfinished": {
        "task": "subscriptions.tasks.deactivate_unfinished_cancellations",
        "schedule": timedelta(minutes=10),
    },
    "Quarantine cancelled lines after the grace period": {
        "task": "subscriptions.tasks.quarantine_cancelled_lines",
        "schedule": timedelta(hours=1),
    },
    "Return quarantined numbers to the number pool": {
        "task": "subscriptions.tasks.release_quarantined_numbers",
        "schedule": timedelta(hours=6),
    },
}
# At least once: a task's message is acknowledged when the task has run, and
# one whose worker process died under it goes back to the queue, so a killed
# worker loses nothing (a callback, a receipt, a sign-in code). Every task is
# therefore written to be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TIMEZONE = "UTC"

# --- Usage outside the bundle -------------------------------------------------
# What a line's prepaid balance is charged, in øre (VAT included), for usage
# beyond its period's allowance: per started MB of data, per started minute of
# a call, per text message. A line with no current period pays for all of it.

OUT_OF_BUNDLE_RATES_ORE = {"data": 50, "voice": 99, "sms": 79}

# Calls and texts to countries outside Norway and the EU/EEA are charged from
# the rate table staff keep in the admin (subscriptions/international.py); a
# destination with no rate there is charged this, in øre (VAT included), per
# started minute and per text: on the high side, so a missing row costs the
# operator nothing.
INTERNATIONAL_DEFAULT_RATES_ORE = {"voice": 499, "sms": 199}

# The name account emails greet from ("Hello from Nordlys Mobil!").
SITE_NAME = "Nordlys Mobil"
# Where the portal is reached from outside: links in emails a worker sends.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Payments ------------------------------------------------------------------
# New payments go to PAYMENT_PROVIDER; callbacks for any provider listed here
# are accepted at /payments/callback/<name>/. The sandbox, the `sandbox` app's
# pretend provider that takes no money, is listed (and the default) only where
# that app is installed: development and tests. Production refuses to start
# without a real provider (subscriptions/checks.py).
PAYMENT_PROVIDER = os.environ.get("PAYMENT_PROVIDER", "")
PAYMENT_PROVIDERS = {"stripe": "subscriptions.payments.stripe_checkout.StripeCheckoutProvider"}
SANDBOX_PAYMENT_PROVIDER = {"sandbox": "subscriptions.payments.sandbox.SandboxProvider"}
# False where every outside part must be real (production): the system check
# then refuses the sandbox's payments, SM-DP+ and network, and a real one
# without its keys.
PRETEND_PARTS_ALLOWED = True
# The key the sandbox signs its callbacks with (HMAC-SHA256).
SANDBOX_PAY_SECRET = os.environ.get("SANDBOX_PAY_SECRET", "sandbox-callback-signing-key")
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
# Only tests point the Stripe library elsewhere (a local server shaped like Stripe's API).
STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
# Vipps MobilePay (ePayment API), offered beside the card where
# VIPPS_PAYMENT_PROVIDER names it: "vipps" once its keys are set (from the
# merchant portal; the webhook secret from registering the webhook), or the
# sandbox's pretend Vipps in development. VIPPS_BASE_URL is the test
# environment (https://apitest.vipps.no) or production (https://api.vipps.no).
VIPPS_CLIENT_ID = os.environ.get("VIPPS_CLIENT_ID", "")
VIPPS_CLIENT_SECRET = os.environ.get("VIPPS_CLIENT_SECRET", "")
VIPPS_SUBSCRIPTION_KEY = os.environ.get("VIPPS_SUBSCRIPTION_KEY", "")
VIPPS_MSN = os.environ.get("VIPPS_MSN", "")
VIPPS_BASE_URL = os.environ.get("VIPPS_BASE_URL", "")
VIPPS_WEBHOOK_SECRET = os.environ.get("VIPPS_WEBHOOK_SECRET", "")
VIPPS_SETTINGS = (
    "VIPPS_CLIENT_ID",
    "VIPPS_CLIENT_SECRET",
    "VIPPS_SUBSCRIPTION_KEY",
    "VIPPS_MSN",
    "VIPPS_BASE_URL",
    "VIPPS_WEBHOOK_SECRET",
)
VIPPS_PAYMENT_PROVIDER = os.environ.get("VIPPS_PAYMENT_PROVIDER", "vipps" if VIPPS_CLIENT_ID else "")
PAYMENT_PROVIDERS["vipps"] = "subscriptions.payments.vipps.VippsProvider"
# Auto-renew with Vipps MobilePay: an agreement per line (Recurring API),
# with the same keys; the sandbox's pretend one in development. Its webhook
# (/payments/callback/vipps_recurring/) is a registration of its own, with
# its own secret (both printed by `manage.py vipps_register_webhook`).
VIPPS_RECURRING_WEBHOOK_SECRET = os.environ.get("VIPPS_RECURRING_WEBHOOK_SECRET", "")
PAYMENT_PROVIDERS["vipps_recurring"] = "subscriptions.payments.vipps_recurring.VippsRecurringProvider"
SANDBOX_PAYMENT_PROVIDER["sandbox_recurring"] = "subscriptions.payments.sandbox_vipps.SandboxVippsRecurringProvider"
VIPPS_RECURRING_PROVIDER = os.environ.get("VIPPS_RECURRING_PROVIDER", "vipps_recurring" if VIPPS_CLIENT_ID else "")
SANDBOX_PAYMENT_PROVIDER["sandbox_vipps"] = "subscriptions.payments.sandbox_vipps.SandboxVippsProvider"
# The key the sandbox's pretend Vipps signs its webhooks with.
SANDBOX_VIPPS_WEBHOOK_SECRET = os.environ.get("SANDBOX_VIPPS_WEBHOOK_SECRET", "sandbox-vipps-webhook-key")
# A callback older than this (or from the future by as much) is refused.
PAYMENT_CALLBACK_TOLERANCE_SECONDS = 300
# A card order still pending after this long: ask the provider. After the
# second: give it up as abandoned (a later payment is flagged for a refund).
PAYMENT_STATUS_CHECK_AFTER_SECONDS = 120
PAYMENT_ABANDON_AFTER_SECONDS = 3600
# --- eSIM provisioning: the SM-DP+ and the network ------------------------------
# Replacement and new-line eSIMs are prepared at the SM-DP+ (GSMA SGP.22 ES2+)
# and the number moved on the operator's network. Each has a pretend
# implementation in the sandbox app (the default where that app is installed)
# and a real HTTP adapter; production refuses to start without real ones
# (subscriptions/checks.py).
SMDP_PROVIDER = os.environ.get("SMDP_PROVIDER", "")
SMDP_PROVIDERS = {"es2plus": "subscriptions.smdp.es2plus.Es2PlusSmdp"}
SANDBOX_SMDP_PROVIDER = {"sandbox": "subscriptions.smdp.sandbox.SandboxSmdp"}
# The SM-DP+'s ES2+ base URL (https://…), who we are to it, and our TLS
# client certificate and key (PEM paths); its CA bundle when its certificate's
# issuer is not in the system's store; a bearer token if the vendor wants one.
SMDP_URL = os.environ.get("SMDP_URL", "")
SMDP_FUNCTION_REQUESTER_ID = os.environ.get("SMDP_FUNCTION_REQUESTER_ID", "")
SMDP_CLIENT_CERT = os.environ.get("SMDP_CLIENT_CERT", "")
SMDP_CLIENT_KEY = os.environ.get("SMDP_CLIENT_KEY", "")
SMDP_CA_BUNDLE = os.environ.get("SMDP_CA_BUNDLE", "")
SMDP_TOKEN = os.environ.get("SMDP_TOKEN", "")
# The SM-DP+ address phones download from, when ConfirmOrder does not say
# (the host of SMDP_URL otherwise).
SMDP_ADDRESS = os.environ.get("SMDP_ADDRESS", "")
SMDP_TIMEOUT_SECONDS = 15
# The key download-progress notifications are signed with (HMAC-SHA256), and
# how old (or how far ahead) a signature may be.
SMDP_NOTIFY_SECRET = os.environ.get("SMDP_NOTIFY_SECRET", "sandbox-smdp-notification-key")
SMDP_NOTIFY_TOLERANCE_SECONDS = 300
# The sandbox's pretend SM-DP+: its address, and where it sends notifications
# (the portal's /esim/notify/sandbox/ on SITE_URL unless set).
SANDBOX_SMDP_ADDRESS = "smdp.sandbox.nordlys.test"
SANDBOX_SMDP_NOTIFY_URL = os.environ.get("SANDBOX_SMDP_NOTIFY_URL", "")
# Where the sandbox's pretend SMS gateway posts the texts its pretend phone
# sends (the portal's /sms/inbound/ on SITE_URL unless set).
SANDBOX_SMS_INBOUND_URL = os.environ.get("SANDBOX_SMS_INBOUND_URL", "")

NETWORK_PROVIDER = os.environ.get("NETWORK_PROVIDER", "")
NETWORK_PROVIDERS = {"http": "subscriptions.network.http.HttpNetwork"}
SANDBOX_NETWORK_PROVIDER = {"sandbox": "subscriptions.network.sandbox.SandboxNetwork"}
# The operator's provisioning API (https://…) and its bearer token.
NETWORK_URL = os.environ.get("NETWORK_URL", "")
NETWORK_TOKEN = os.environ.get("NETWORK_TOKEN", "")
NETWORK_TIMEOUT_SECONDS = 15
# Support get an email when the eSIM profiles AVAILABLE in stock fall below
# this many (once per crossing), at this address.
ESIM_STOCK_ALERT_BELOW = int(os.environ.get("ESIM_STOCK_ALERT_BELOW", "20"))
SUPPORT_EMAIL = os.environ.get("SUPPORT_EMAIL", "kundeservice@nordlys.test")
# A provisioning job not moved on for this long (its worker died and its
# retries ran out) is queued again by the sweep.
PROVISIONING_STALE_AFTER_SECONDS = 600
# A customer ordering a new line is offered this many free numbers from the
# pool, kept for them (shown to no one else) this long.
NEW_LINE_NUMBERS_OFFERED = 3
NEW_LINE_OFFER_MINUTES = 15
# The admin's stock page marks the number pool low below this many free numbers.
NUMBER_POOL_LOW_BELOW = int(os.environ.get("NUMBER_POOL_LOW_BELOW", "20"))

# What a customer may top up by card, in øre.
TOPUP_MIN_ORE = 50_00
TOPUP_MAX_ORE = 2_000_00

# Vouchers: codes are stored as HMAC-SHA256 with this key (production derives
# one from SECRET_KEY unless given). Failed redemptions allowed per hour
# before the form refuses to check more, per customer, IP address and line.
VOUCHER_HASH_KEY = os.environ.get("VOUCHER_HASH_KEY", "dev-voucher-hash-key")
VOUCHER_FAILURES_PER_HOUR = {"user": 5, "ip": 20, "line": 5}
# Promotion codes at checkout: unknown codes allowed per hour before the
# checkout refuses to look at any, per customer and IP address.
PROMO_FAILURES_PER_HOUR = {"user": 5, "ip": 20}

# Auto-renew: charge this many days before a line's paid period ends; after a
# failed charge, try again after each of these delays; then give up.
AUTO_RENEW_DAYS_BEFORE = int(os.environ.get("AUTO_RENEW_DAYS_BEFORE", "3"))
AUTO_RENEW_RETRY_DELAYS_SECONDS = [3600, 24 * 3600]
# The notice of an automatic charge goes this many days before the charge
# (at most a quarter of the plan's period).
AUTO_RENEW_NOTICE_DAYS_BEFORE = int(os.environ.get("AUTO_RENEW_NOTICE_DAYS_BEFORE", "3"))

# Replacement eSIMs: the first per line in 12 months is free, later ones cost
# the fee (øre, VAT included). A request support did not review waits the
# cooling-off time, in which the stop link sent to the line and the account
# works. The emailed identity code lasts its lifetime and takes three tries;
# a customer may ask for this many codes an hour.
REPLACEMENT_FEE_ORE = int(os.environ.get("REPLACEMENT_FEE_ORE", "9900"))
REPLACEMENT_COOLING_OFF_SECONDS = int(os.environ.get("REPLACEMENT_COOLING_OFF_SECONDS", "3600"))
REPLACEMENT_CODE_SECONDS = 600
REPLACEMENT_CODES_PER_HOUR = 5
REPLACEMENT_STOP_LINK_SECONDS = 7 * 24 * 3600

# An expired line keeps its number this many days after its paid period
# ended; renewing within them brings the line back with the same number. The
# pages (and reminders) say the day from Line.number_lost_at().
NUMBER_KEEPING_GRACE_DAYS = int(os.environ.get("NUMBER_KEEPING_GRACE_DAYS", "30"))

# Cancellation (subscriptions/services/cancellations.py): support decides a
# request within this many Norwegian working days; a cancelled line can be
# reactivated (same number) for CANCELLATION_GRACE_DAYS, then it is
# quarantined, and its number goes back to the pool after
# QUARANTINE_RELEASE_DAYS, so nobody gets a number that was just someone else's.
CANCELLATION_DECISION_WORKING_DAYS = 3
CANCELLATION_GRACE_DAYS = int(os.environ.get("CANCELLATION_GRACE_DAYS", "30"))
QUARANTINE_RELEASE_DAYS = int(os.environ.get("QUARANTINE_RELEASE_DAYS", "183"))

# The seller printed on receipts.
SELLER = {
    "name": "Nordlys Mobil AS",
    "organisation_number": "NO 929 384 756 MVA",
    "address": ["Storgata 1", "0155 Oslo", "Norge"],
    "email": "kundeservice@nordlys.test",
}
# Customer service as the pages show it (footer, help page): the phone number
# in E.164 (shown grouped, dialled as it is), the email, and the opening
# hours, every day, Oslo time.
SUPPORT: dict[str, str] = {
    "phone": "+4780012345",
    "email": "kundeservice@nordlys.test",
    "opens": "08:00",
    "closes": "22:00",
}

# --- Identity documents ----------------------------------------------------------
# Passports, national ID cards and residence cards customers upload for a
# replacement, a new line or a cancellation (accounts/identity.py). Kept
# outside everything a URL serves (no MEDIA_URL, not under STATIC_ROOT), on
# a disk that survives deployments: production requires PRIVATE_MEDIA_ROOT.
PRIVATE_MEDIA_ROOT = Path(os.environ.get("PRIVATE_MEDIA_ROOT", VAR_DIR / "private"))
IDENTITY_DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
# A photo larger than this many pixels is refused before it is decoded: a
# small file can declare a huge picture (a decompression bomb). Phone
# cameras' largest ordinary photos are about 50 megapixels.
IDENTITY_DOCUMENT_MAX_PIXELS = 50_000_000
# Uploads one customer may make in an hour (every upload counts, kept or not).
IDENTITY_DOCUMENT_UPLOADS_PER_HOUR = 5
# The file is deleted this long after support's decision; the row (the
# decision, who made it and when) stays.
IDENTITY_DOCUMENT_RETENTION_DAYS = 30

# --- The customer's own data --------------------------------------------------------
# "Download my data": the emailed link works once, for this many hours; the
# file is deleted when downloaded, or by the hourly sweep after that.
DATA_EXPORT_VALID_HOURS = 24
# Usage records (calls, texts, data sessions) older than this are deleted by
# a sweep: traffic data is kept only as long as billing and complaints need it.
USAGE_RETENTION_DAYS = int(os.environ.get("USAGE_RETENTION_DAYS", "365"))
# A deleted account's receipts and credit notes are kept this many years
# after the end of the year they were issued in (the bookkeeping period),
# with the name and address printed on them; then a sweep blanks those.
RECEIPT_RETENTION_YEARS = int(os.environ.get("RECEIPT_RETENTION_YEARS", "5"))

# --- Security -------------------------------------------------------------------
# No inline script or style anywhere: every script and stylesheet is a file we
# serve. The TOTP QR code is an inline SVG data URI, hence data: for images.

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Logging ------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

CSRF_FAILURE_VIEW = "portal.views.csrf_failure"
