"""Shared test set-up.

A test that needs a service or a browser this machine lacks is skipped with a
reason saying how to get it; under CI=true the same absence fails the run, so
nothing is silently skipped there."""

from __future__ import annotations

import os
import shutil
import socket
import types
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.test import Client
from django.utils import translation

from portal import sms
from tests.factories import LineFactory, PlanFactory, UserFactory
from tests.fakes.stripe import FakeStripe, stripe_serving
from tests.fakes.vipps import FakeVipps, vipps_serving
from tests.two_factor import PinnedClock

IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def missing_services() -> list[str]:
    missing = []
    if not settings.SERVICES:
        return ["PORTAL_TEST_SERVICES=1 (run `make pytest-services`)"]
    db = settings.DATABASES["default"]
    if not port_open(db["HOST"], int(db["PORT"])):
        missing.append(
            f"PostgreSQL at {db['HOST']}:{db['PORT']} "
            "(start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)"
        )
    if not port_open("127.0.0.1", 6379):
        missing.append('Redis at 127.0.0.1:6379 (start it: redis-server --daemonize yes --save "" --appendonly no)')
    return missing


def missing_browser() -> list[str]:
    missing = []
    if not (shutil.which(CHROMIUM) or os.path.exists(CHROMIUM)):
        missing.append(f"Chromium at {CHROMIUM} (install it: apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("the playwright package (make test installs it)")
    return missing


@pytest.hookimpl(trylast=True)  # after -m has deselected what this run does not do
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    needs = {"services": missing_services, "browser": missing_browser}
    for marker, probe in needs.items():
        marked = [item for item in items if item.get_closest_marker(marker)]
        if not marked:
            continue
        missing = probe()
        if not missing:
            continue
        reason = f"needs {'; '.join(missing)}"
        if IN_CI:
            raise pytest.UsageError(f"CI=true and {len(marked)} {marker} test(s) cannot run: {reason}")
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A request activates the customer's language in the thread and leaves
    it there (as Django's LocaleMiddleware does; the next request sets its
    own), so a test that made one would hand its language to the next."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """allauth's rate limits live in the cache: start every test afresh. So
    does the layout's (a test that changes settings or URLs the navigation
    shows must not see a navigation an earlier test left)."""
    cache.clear()
    caches["layout"].clear()
    yield
    cache.clear()
    caches["layout"].clear()


@pytest.fixture(autouse=True)
def _private_media(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Identity documents a test stores land in a folder of its own."""
    settings.PRIVATE_MEDIA_ROOT = tmp_path_factory.mktemp("private")
    return settings.PRIVATE_MEDIA_ROOT


@pytest.fixture
def sms_outbox() -> Iterator[list[sms.SmsMessage]]:
    """The locmem SMS backend's outbox, emptied before and after the test."""
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def totp_clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    """allauth's TOTP clock pinned (tests/two_factor.py), so the codes a test
    computes are the ones the server expects."""
    from allauth.mfa.totp.internal import auth

    clock = PinnedClock()
    monkeypatch.setattr(auth, "time", types.SimpleNamespace(time=clock.time))
    return clock


# --- A customer with a line -----------------------------------------------------------
# The usual cast of a customer-facing test. A module whose tests need another
# customer, plan or line (blank billing details, a week's plan, a balance the
# page must show) defines its own fixture of the same name, which wins there.


@pytest.fixture
def customer() -> Any:
    """Kari, with the billing address the checkout form starts from."""
    return UserFactory(full_name="Kari Nordmann", street_address="Storgata 5", postal_code="0155", city="Oslo")


@pytest.fixture
def plan() -> Any:
    """A month's plan at NOK 199."""
    return PlanFactory(code="fjord-month", name_en="Fjord 10 GB", price_ore=199_00)


@pytest.fixture
def line(customer: Any, plan: Any) -> Any:
    """The customer's line, active in a period of ``plan`` (LineFactory's: begun ten days ago)."""
    return LineFactory(owner=customer, number="+4791234567", with_period=plan)


@pytest.fixture
def signed_in(client: Client, customer: Any) -> Client:
    """The test client, signed in as the customer."""
    client.force_login(customer)
    return client


@pytest.fixture
def stranger_client() -> Client:
    """Another customer's browser: for the 404s on what is not theirs."""
    client = Client()
    client.force_login(UserFactory())
    return client


@pytest.fixture
def stripe_api(settings: Any) -> Iterator[FakeStripe]:
    """Stripe's API played by a local server (tests/fakes/stripe.py), and the
    settings pointing the Stripe adapter at it."""
    with stripe_serving(FakeStripe(), settings) as fake:
        yield fake


@pytest.fixture
def vipps_api(settings: Any) -> Iterator[FakeVipps]:
    """Vipps MobilePay's token and ePayment APIs played by a local server
    (tests/fakes/vipps.py), and the settings pointing the adapter at it."""
    with vipps_serving(FakeVipps(), settings) as fake:
        yield fake
