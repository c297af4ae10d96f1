"""`make bench`: production settings, less what a loopback benchmark cannot
have, plus the bench app (its command, and the bare view that measures the
stack's own ceiling). No other settings module installs it.

Everything else is production's: PostgreSQL with persistent, health-checked
connections, the Redis cache, sessions cached in Redis over the database, DEBUG off, whitenoise
serving hashed static files, every middleware.

The benchmark's database and Redis database are its own, named by
BENCH_DATABASE_URL and BENCH_REDIS_URL (a `portal_bench` database on the local
PostgreSQL and Redis database 14 unless given): a DATABASE_URL or REDIS_URL
left in the environment for another purpose is ignored, because building
the dataset empties the customer tables. The key below signs nothing but the
benchmark's own sessions.
"""

import os
from pathlib import Path

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench")
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.setdefault("SECRET_KEY", "bench-only-not-secret-" + "b3nchK7q9Zt2Lw5Xr8Vn1Mc4" * 2)
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
# Identity documents would go here; the benchmark uploads none.
os.environ.setdefault("PRIVATE_MEDIA_ROOT", str(Path(__file__).resolve().parent.parent / "var" / "bench" / "private"))
# The dataset's card orders are the sandbox's, and the payment sweep asks it about them.
os.environ["PAYMENT_PROVIDER"] = "sandbox"
os.environ["SANDBOX_PAYMENTS_TAKE_NO_MONEY"] = "true"
os.environ["SMDP_PROVIDER"] = "sandbox"
os.environ["NETWORK_PROVIDER"] = "sandbox"
os.environ["SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND"] = "true"

from portal.settings.production import *  # noqa: F403
from portal.settings.production import INSTALLED_APPS, VAR_DIR

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]

# Plain HTTP on 127.0.0.1: no proxy in front sets X-Forwarded-Proto, so a
# redirect to HTTPS would answer every request with a 301, and HSTS and
# secure-only cookies mean nothing there.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = False
SECURE_HSTS_PRELOAD = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False
SITE_URL = "http://127.0.0.1:8000"

# The reminder workers' texts (bench/reminders.py names the folder).
SMS_FILE_PATH = Path(os.environ.get("BENCH_SMS_FILE_PATH", str(VAR_DIR / "bench" / "sms")))

# Collected apart from any other mode's files.
STATIC_ROOT = VAR_DIR / "bench" / "staticfiles"

# The bench's sessions hold a reauthentication made when they were (as a
# customer who just entered their password again, which the eSIM Install
# page asks for); it stays fresh for the whole run, not five minutes.
ACCOUNT_REAUTHENTICATION_TIMEOUT = 24 * 3600

# Production's session store unless a run asks for another to compare, e.g.
# BENCH_SESSION_ENGINE=django.contrib.sessions.backends.db (the report
# records which one ran).
if os.environ.get("BENCH_SESSION_ENGINE"):
    SESSION_ENGINE = os.environ["BENCH_SESSION_ENGINE"]

# The portal's URLs plus /bench/bare/ (bench.urls refuses to load
# unless BENCH is on, so no other mode can mount it by mistake).
BENCH = True
ROOT_URLCONF = "bench.urls"
