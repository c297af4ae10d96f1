"""The plan catalogue's cards are cached per language: an edit in the admin
shows at once, and each language gets its own words."""

from __future__ import annotations

import pytest

from subscriptions.formatting import format_nok
from subscriptions.models import Plan
from tests.factories import PlanFactory

pytestmark = pytest.mark.django_db


def test_a_price_change_shows_at_once_although_the_cards_are_cached(client):
    plan = PlanFactory(code="fjord-month", name_en="Fjord 10 GB", price_ore=199_00)
    assert format_nok(199_00) in client.get("/plans/").content.decode()

    Plan.objects.filter(pk=plan.pk).update(price_ore=149_00)
    html = client.get("/plans/").content.decode()

    assert format_nok(149_00) in html
    assert format_nok(199_00) not in html


def test_a_plan_taken_off_sale_leaves_the_cached_catalogue_at_once(client):
    PlanFactory(code="fjord-month")
    retired = PlanFactory(code="fjord-week")
    assert 'data-plan="fjord-week"' in client.get("/plans/").content.decode()

    Plan.objects.filter(pk=retired.pk).update(is_active=False)

    assert 'data-plan="fjord-week"' not in client.get("/plans/").content.decode()


def test_each_language_gets_its_own_cached_cards(client):
    PlanFactory(code="fjord-month", name_en="Fjord 10 GB", name_nb="Fjord 10 GB måned", name_zh_hans="峡湾 10 GB")

    pages = {}
    for language in ["en", "nb", "zh-hans", "en"]:
        client.cookies["portal_language"] = language
        pages[language] = client.get("/plans/").content.decode()

    assert "Fjord 10 GB måned" in pages["nb"]
    assert "峡湾 10 GB" in pages["zh-hans"]
    assert "峡湾" not in pages["en"] and "måned" not in pages["en"]


def test_the_cached_cards_are_the_same_html_as_rendered_afresh(client, settings):
    PlanFactory(code="fjord-month")
    PlanFactory(code="fjord-year", period="year", price_ore=1999_00)
    layout = settings.CACHES["layout"]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}, "layout": layout}
    fresh = client.get("/plans/").content.decode()
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "cards"},
        "layout": layout,
    }

    client.get("/plans/")
    cached = client.get("/plans/").content.decode()

    assert _cards(cached) == _cards(fresh)


def _cards(html: str) -> str:
    return html[html.index("<section") : html.rindex("</section>")]
