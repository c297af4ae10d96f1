"""Each settings mode is imported in a fresh interpreter, as a process would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "SECRET_KEY": "k3y-" + "x7Qp9Lm2Zr5Tv8Wb1Nc4Hd6Jf0Gs3Ka" * 2,
    "ALLOWED_HOSTS": "minside.nordlys.test",
    "DATABASE_URL": "postgres://portal:secret@127.0.0.1:5432/portal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def run(args: list[str], env: dict[str, str], settings: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in PRODUCTION_ENV and k != "DATABASE_PREPARED_STATEMENTS" and not k.startswith("DJANGO_")
    }
    clean.update(env, DJANGO_SETTINGS_MODULE=settings)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("missing", sorted(PRODUCTION_ENV))
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run(["manage.py", "check"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_refuses_a_short_secret_key():
    result = run(["manage.py", "check"], {**PRODUCTION_ENV, "SECRET_KEY": "short"}, "portal.settings.production")
    assert result.returncode != 0
    assert "SECRET_KEY must be at least 50 characters" in result.stderr


def test_production_refuses_a_database_that_is_not_postgresql():
    env = {**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///tmp/portal.sqlite3"}
    result = run(["manage.py", "check"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "PostgreSQL" in result.stderr


def test_production_passes_the_deployment_checklist_with_no_warning():
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, "portal.settings.production"
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("mode", ["dev", "production", "test"])
def test_every_mode_keeps_rate_limits_in_a_real_cache(mode):
    code = (
        "from django.core.cache import caches; "
        "backend = type(caches['default']); "
        "print(f'{backend.__module__}.{backend.__qualname__}')"
    )
    result = run(["-c", f"import django; django.setup(); {code}"], PRODUCTION_ENV, f"portal.settings.{mode}")
    assert result.returncode == 0, result.stderr
    assert "Dummy" not in result.stdout
    assert result.stdout.strip().startswith("django.core.cache.backends.")


def test_production_uses_redis_for_cache_sessions_and_broker():
    code = (
        "from django.conf import settings as s; "
        "print(s.CACHES['default']['BACKEND'], s.SESSION_ENGINE, s.CELERY_BROKER_URL, s.DATABASES['default']['ENGINE'])"
    )
    result = run(["-c", f"import django; django.setup(); {code}"], PRODUCTION_ENV, "portal.settings.production")
    assert result.stdout.split() == [
        "django.core.cache.backends.redis.RedisCache",
        "django.contrib.sessions.backends.cached_db",
        "redis://127.0.0.1:6379/0",
        "django.db.backends.postgresql",
    ]


@pytest.mark.parametrize(
    ("setting", "options"),
    [
        (None, "{'server_side_binding': True, 'prepare_threshold': 5}"),
        ("false", "{}"),
    ],
)
def test_production_prepares_statements_unless_told_not_to(setting, options):
    # Behind a pooler that cannot keep prepared statements, a deployment turns them off.
    env = PRODUCTION_ENV if setting is None else {**PRODUCTION_ENV, "DATABASE_PREPARED_STATEMENTS": setting}
    code = "from django.conf import settings as s; print(s.DATABASES['default'].get('OPTIONS', {}))"
    result = run(["-c", f"import django; django.setup(); {code}"], env, "portal.settings.production")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == options
