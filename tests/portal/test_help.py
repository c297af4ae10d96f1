"""The help page and customer service's number: where a customer finds
them, in each language, and that the number can be tapped to call."""

import re

import pytest

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HEADINGS = {"en": "Help and customer service", "nb": "Hjelp og kundeservice", "zh-hans": "帮助与客服"}
HOURS = {
    "en": "Open every day 08:00–22:00, Norwegian time.",
    "nb": "Åpent hver dag kl. 08:00–22:00, norsk tid.",
    "zh-hans": "每天 08:00–22:00 开放（挪威时间）。",
}
TASKS = {
    "en": ["Lost or stolen phone", "Replacement eSIM", "Cancelling a line", "Payments and receipts", "Vouchers"],
    "nb": ["Mistet eller stjålet telefon", "Erstatnings-eSIM", "Si opp en linje", "Betalinger og kvitteringer"],
    "zh-hans": ["手机丢失或被盗", "补办 eSIM", "注销号码", "付款与收据", "充值卡"],
}


@pytest.mark.parametrize("language", HEADINGS)
def test_the_help_page_says_the_hours_what_support_does_and_how_to_reach_it(client, language):
    response = client.get("/help/", HTTP_ACCEPT_LANGUAGE=language)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in html
    assert HEADINGS[language] in html
    assert HOURS[language] in html
    for task in TASKS[language]:
        assert task in html
    assert re.search(
        r'<a class="btn btn-primary help-call" href="tel:\+4780012345">.*\+47\xa0800\xa012\xa0345</a>', html
    )
    assert 'href="mailto:kundeservice@nordlys.test"' in html


def test_the_help_page_shows_the_contact_details_the_settings_hold(client, settings):
    settings.SUPPORT = {**settings.SUPPORT, "phone": "+4722334455", "email": "hjelp@example.test", "opens": "09:00"}

    html = client.get("/help/").content.decode()

    assert 'href="tel:+4722334455"' in html
    assert "+47\xa022\xa033\xa044\xa055" in html
    assert 'href="mailto:hjelp@example.test"' in html
    assert "Open every day 09:00–22:00" in html


@pytest.mark.parametrize("url", ["/", "/plans/", "/help/", "/accounts/login/", "/dashboard/"])
def test_every_page_has_the_tap_to_call_number_and_the_help_link(client, url):
    client.force_login(UserFactory())

    html = client.get(url, follow=True).content.decode()

    footer = html[html.index("<footer") :]
    assert '<a class="support-phone text-nowrap" href="tel:+4780012345">+47\xa0800\xa012\xa0345</a>' in footer
    assert "every day 08:00–22:00" in footer
    assert 'href="/help/"' in footer
    assert '<a class="nav-link" href="/help/">Help</a>' in html


@pytest.mark.parametrize(
    ("language", "expected"),
    [("nb", "Kundeservice: <a"), ("zh-hans", "客服热线： <a")],
)
def test_the_footer_names_customer_service_in_each_language(client, language, expected):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE=language).content.decode()

    assert expected in html
