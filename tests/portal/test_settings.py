"""Each settings mode is imported in a fresh interpreter, as a process would."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIRED_ENV = {
    "SECRET_KEY": "k3y-" + "x7Qp9Lm2Zr5Tv8Wb1Nc4Hd6Jf0Gs3Ka" * 2,
    "ALLOWED_HOSTS": "minside.nordlys.test",
    "DATABASE_URL": "postgres://portal:secret@127.0.0.1:5432/portal",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "PRIVATE_MEDIA_ROOT": "/srv/nordlys/private",
}
STRIPE_ENV = {
    "PAYMENT_PROVIDER": "stripe",
    "STRIPE_SECRET_KEY": "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "STRIPE_WEBHOOK_SECRET": "whsec_" + "Q1w2E3r4T5y6U7i8O9p0",
}
ESIM_ENV = {
    "SMDP_PROVIDER": "es2plus",
    "SMDP_URL": "https://smdp.vendor.test/",
    "SMDP_FUNCTION_REQUESTER_ID": "1.3.6.1.4.1.99999.1",
    "SMDP_CLIENT_CERT": "/etc/nordlys/es2plus-client.pem",
    "SMDP_CLIENT_KEY": "/etc/nordlys/es2plus-client.key",
    "SMDP_NOTIFY_SECRET": "smdp-notify-" + "Zr5Tv8Wb1Nc4",
    "NETWORK_PROVIDER": "http",
    "NETWORK_URL": "https://provisioning.nordlys.test/",
    "NETWORK_TOKEN": "net-" + "x7Qp9Lm2Zr5T",
}
VIPPS_ENV = {
    "VIPPS_CLIENT_ID": "b3f6a1c2-vipps-client",
    "VIPPS_CLIENT_SECRET": "vipps-secret-" + "Lm2Zr5Tv8Wb1",
    "VIPPS_SUBSCRIPTION_KEY": "vipps-sub-" + "Nc4Hd6Jf0Gs3",
    "VIPPS_MSN": "123456",
    "VIPPS_BASE_URL": "https://apitest.vipps.no",
    "VIPPS_WEBHOOK_SECRET": "vipps-hook-" + "Ka7Qp9Lm2Zr5",
    "VIPPS_RECURRING_WEBHOOK_SECRET": "vipps-recurring-hook-" + "Tv8Wb1Nc4Hd6",
}
PRODUCTION_ENV = {**REQUIRED_ENV, **STRIPE_ENV, **ESIM_ENV}
# Variables of ours a test's environment must not inherit from the shell.
OURS = {
    *PRODUCTION_ENV,
    "DATABASE_PREPARED_STATEMENTS",
    "SANDBOX_PAYMENTS_TAKE_NO_MONEY",
    "SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND",
    "SMDP_TOKEN",
    "SMDP_CA_BUNDLE",
    "SMDP_ADDRESS",
    "SANDBOX_SMDP_NOTIFY_URL",
    "SMS_INBOUND_ENABLED",
    "SMS_INBOUND_SECRET",
    *VIPPS_ENV,
    "VIPPS_PAYMENT_PROVIDER",
    "VIPPS_RECURRING_PROVIDER",
}


def run(args: list[str], env: dict[str, str], settings: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in OURS and not k.startswith("DJANGO_")}
    clean.update(env, DJANGO_SETTINGS_MODULE=settings)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("missing", sorted(REQUIRED_ENV))
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


def test_production_workers_take_the_queues_in_order_of_priority():
    code = (
        "from portal.celery import app; "
        "print(list(app.amqp.queues), app.conf.broker_transport_options['queue_order_strategy'], "
        "app.conf.broker_transport_options['visibility_timeout'], "
        "app.amqp.router.route({}, 'subscriptions.tasks.deliver_notification')['queue'].name, "
        "app.amqp.router.route({}, 'subscriptions.tasks.send_expiry_reminder_chunk')['queue'].name, "
        "app.amqp.router.route({}, 'subscriptions.tasks.send_expiry_reminders')['queue'].name)"
    )
    result = run(["-c", f"import django; django.setup(); {code}"], PRODUCTION_ENV, "portal.settings.production")
    assert result.stdout.split("\n")[-2] == "['celery', 'messages', 'bulk'] priority 21600 messages bulk celery"


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


# --- Payments: production takes real money only ------------------------------------


def test_production_without_a_payment_provider_fails_the_deployment_check():
    result = run(["manage.py", "check", "--deploy"], REQUIRED_ENV, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E002" in result.stderr
    assert "PAYMENT_PROVIDER is not set, so no payment could be taken" in result.stderr


def test_production_refuses_the_sandbox_unless_staging_asks_for_it_by_name():
    env = {**REQUIRED_ENV, **ESIM_ENV, "PAYMENT_PROVIDER": "sandbox"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E001" in result.stderr
    assert "takes no money" in result.stderr
    assert "SANDBOX_PAYMENTS_TAKE_NO_MONEY" in result.stderr


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
def test_production_refuses_stripe_without_its_keys(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E004" in result.stderr
    assert f"PAYMENT_PROVIDER=stripe needs {missing}" in result.stderr


def test_production_migrate_does_not_start_without_a_real_provider():
    # migrate runs the system checks before touching the database.
    result = run(["manage.py", "migrate", "--plan"], REQUIRED_ENV, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E002" in result.stderr


def test_production_web_process_refuses_to_start_on_the_sandbox():
    env = {**REQUIRED_ENV, "PAYMENT_PROVIDER": "sandbox"}
    result = run(["-c", "import portal.wsgi"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "ImproperlyConfigured: PAYMENT_PROVIDER=sandbox takes no money" in result.stderr


def test_production_worker_refuses_to_start_on_the_sandbox():
    env = {**REQUIRED_ENV, "PAYMENT_PROVIDER": "sandbox"}
    result = run(["-m", "celery", "-A", "portal", "worker", "--pool=solo"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "PAYMENT_PROVIDER=sandbox takes no money" in result.stderr


def test_production_web_process_starts_with_stripe():
    result = run(["-c", "import portal.wsgi; print('serving')"], PRODUCTION_ENV, "portal.settings.production")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "serving"


SANDBOX_URLS = (
    "from django.urls import resolve, Resolver404\n"
    "from subscriptions.payments import get_provider\n"
    "for path in ('/sandbox-pay/abc/', '/sandbox-pay/abc/replay/'):\n"
    "    try:\n"
    "        print(path, resolve(path).url_name)\n"
    "    except Resolver404:\n"
    "        print(path, 'missing')\n"
    "try:\n"
    "    print('provider', get_provider('sandbox').name)\n"
    "except LookupError:\n"
    "    print('provider missing')\n"
)


def test_production_has_no_sandbox_pages_or_callbacks():
    code = f"import django; django.setup()\n{SANDBOX_URLS}"
    result = run(["-c", code], PRODUCTION_ENV, "portal.settings.production")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "/sandbox-pay/abc/ missing",
        "/sandbox-pay/abc/replay/ missing",
        "provider missing",
    ]


def test_a_staging_site_that_asks_for_the_sandbox_gets_it_with_a_warning():
    env = {**REQUIRED_ENV, **ESIM_ENV, "PAYMENT_PROVIDER": "sandbox", "SANDBOX_PAYMENTS_TAKE_NO_MONEY": "true"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode == 0, result.stderr
    assert "subscriptions.W001" in result.stderr + result.stdout
    code = f"import django; django.setup()\n{SANDBOX_URLS}"
    result = run(["-c", code], env, "portal.settings.production")
    assert result.stdout.split("\n")[:3] == [
        "/sandbox-pay/abc/ sandbox_pay",
        "/sandbox-pay/abc/replay/ sandbox_replay",
        "provider sandbox",
    ]


@pytest.mark.parametrize("mode", ["dev", "test"])
def test_development_and_tests_take_the_sandbox_without_being_asked(mode):
    result = run(["manage.py", "check"], {}, f"portal.settings.{mode}")
    assert result.returncode == 0, result.stderr


def test_the_embedded_default_connects_to_its_broker_without_a_warning(tmp_path):
    probe = (
        "import django; django.setup();"
        "from portal.celery import app;"
        "connection = app.connection_for_write(); connection.info(); connection.release()"
    )
    result = run(["-c", probe], {"VAR_DIR": str(tmp_path)}, "portal.settings.dev")
    assert result.returncode == 0, result.stderr
    assert "No hostname was supplied" not in result.stderr


# --- eSIMs: production provisions real profiles on the real network only ----------------


@pytest.mark.parametrize(("setting", "code"), [("SMDP_PROVIDER", "E012"), ("NETWORK_PROVIDER", "E022")])
def test_production_without_an_smdp_or_network_fails_the_deployment_check(setting, code):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != setting}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert f"subscriptions.{code}" in result.stderr
    assert f"{setting} is not set, so no eSIM could be provisioned" in result.stderr


@pytest.mark.parametrize(
    ("setting", "code", "says"),
    [
        ("SMDP_PROVIDER", "E011", "makes no real eSIM profile"),
        ("NETWORK_PROVIDER", "E021", "blocks and moves no real number"),
    ],
)
def test_production_refuses_the_sandbox_smdp_or_network(setting, code, says):
    env = {**PRODUCTION_ENV, setting: "sandbox"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert f"subscriptions.{code}" in result.stderr
    assert says in result.stderr
    assert "SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND" in result.stderr


@pytest.mark.parametrize(
    "missing",
    ["SMDP_URL", "SMDP_FUNCTION_REQUESTER_ID", "SMDP_CLIENT_CERT", "SMDP_CLIENT_KEY", "SMDP_NOTIFY_SECRET"],
)
def test_production_refuses_an_es2plus_smdp_without_its_settings(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E014" in result.stderr
    assert f"SMDP_PROVIDER=es2plus needs {missing}" in result.stderr


@pytest.mark.parametrize("missing", ["NETWORK_URL", "NETWORK_TOKEN"])
def test_production_refuses_the_network_api_without_its_settings(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E024" in result.stderr
    assert f"NETWORK_PROVIDER=http needs {missing}" in result.stderr


@pytest.mark.parametrize(("setting", "code"), [("SMDP_URL", "E015"), ("NETWORK_URL", "E025")])
def test_production_refuses_a_plain_http_smdp_or_network(setting, code):
    env = {**PRODUCTION_ENV, setting: "http://plain.nordlys.test/"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert f"subscriptions.{code}" in result.stderr


def test_production_web_process_refuses_to_start_on_the_sandbox_smdp():
    env = {**PRODUCTION_ENV, "SMDP_PROVIDER": "sandbox"}
    result = run(["-c", "import portal.wsgi"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SMDP_PROVIDER=sandbox makes no real eSIM profile" in result.stderr


SANDBOX_ESIM = (
    "from django.urls import resolve, Resolver404\n"
    "from subscriptions.smdp import get_smdp\n"
    "from subscriptions.network import get_network\n"
    "try:\n"
    "    print(resolve('/sandbox/esim/8947000000000000007/').url_name)\n"
    "except Resolver404:\n"
    "    print('missing')\n"
    "for get in (get_smdp, get_network):\n"
    "    try:\n"
    "        print(get('sandbox').name)\n"
    "    except LookupError:\n"
    "        print('missing')\n"
)


def test_production_has_no_pretend_phone_smdp_or_network():
    result = run(["-c", f"import django; django.setup()\n{SANDBOX_ESIM}"], PRODUCTION_ENV, "portal.settings.production")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["missing", "missing", "missing"]


def test_a_staging_site_that_asks_for_the_pretend_smdp_and_network_gets_them_with_warnings():
    env = {
        **PRODUCTION_ENV,
        "SMDP_PROVIDER": "sandbox",
        "NETWORK_PROVIDER": "sandbox",
        "SANDBOX_ESIM_AND_NETWORK_ARE_PRETEND": "true",
    }
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode == 0, result.stderr
    assert "subscriptions.W011" in result.stderr + result.stdout
    assert "subscriptions.W021" in result.stderr + result.stdout
    result = run(["-c", f"import django; django.setup()\n{SANDBOX_ESIM}"], env, "portal.settings.production")
    assert result.stdout.split() == ["sandbox_esim", "sandbox", "sandbox"]


# --- SMS commands: only with the key shared with the gateway ---------------------------------


def test_production_with_sms_commands_on_and_no_secret_does_not_start():
    env = {**PRODUCTION_ENV, "SMS_INBOUND_ENABLED": "true"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E031" in result.stderr
    result = run(["-c", "import portal.wsgi"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "ImproperlyConfigured: SMS_INBOUND_ENABLED is on without SMS_INBOUND_SECRET" in result.stderr


def test_production_refuses_the_public_development_key_for_sms_commands():
    env = {**PRODUCTION_ENV, "SMS_INBOUND_ENABLED": "true", "SMS_INBOUND_SECRET": "sandbox-sms-inbound-key"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E031" in result.stderr


def test_production_with_sms_commands_on_and_no_service_number_does_not_start():
    env = {**PRODUCTION_ENV, "SMS_INBOUND_ENABLED": "true", "SMS_INBOUND_SECRET": "sms-" + "Wb1Nc4Hd6Jf0"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E032" in result.stderr
    result = run(["-c", "import portal.wsgi"], env, "portal.settings.production")
    assert "ImproperlyConfigured: SMS_INBOUND_ENABLED is on without SMS_SERVICE_NUMBER" in result.stderr


def test_production_takes_sms_commands_with_their_secret_and_has_none_without_them():
    env = {
        **PRODUCTION_ENV,
        "SMS_INBOUND_ENABLED": "true",
        "SMS_INBOUND_SECRET": "sms-" + "Wb1Nc4Hd6Jf0",
        "SMS_SERVICE_NUMBER": "2290",
    }
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, "portal.settings.production")
    assert result.returncode == 0, result.stderr
    code = "import django; django.setup(); from django.conf import settings; print(settings.SMS_INBOUND_ENABLED)"
    result = run(["-c", code], PRODUCTION_ENV, "portal.settings.production")
    assert result.stdout.split() == ["False"]


# --- Vipps MobilePay: all of its keys, or none ---------------------------------------


def test_production_accepts_vipps_with_all_of_its_keys():
    env = {**PRODUCTION_ENV, **VIPPS_ENV}
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env, "portal.settings.production")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", sorted(VIPPS_ENV))
def test_production_refuses_a_half_configured_vipps(missing):
    env = {**PRODUCTION_ENV, **{k: v for k, v in VIPPS_ENV.items() if k != missing}}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E043" in result.stderr
    assert f"needs {missing}" in result.stderr


def test_production_refuses_vipps_at_a_host_that_is_not_vipps():
    env = {**PRODUCTION_ENV, **VIPPS_ENV, "VIPPS_BASE_URL": "https://api.vipps.example"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E044" in result.stderr


def test_production_refuses_the_sandboxs_pretend_vipps():
    env = {**PRODUCTION_ENV, "VIPPS_PAYMENT_PROVIDER": "sandbox_vipps"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E041" in result.stderr


def test_production_refuses_the_sandboxs_pretend_vipps_agreements():
    env = {**PRODUCTION_ENV, "VIPPS_RECURRING_PROVIDER": "sandbox_recurring"}
    result = run(["manage.py", "check", "--deploy"], env, "portal.settings.production")
    assert result.returncode != 0
    assert "subscriptions.E045" in result.stderr
