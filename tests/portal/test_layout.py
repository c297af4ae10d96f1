"""The layout's navigation is kept per language and kind of visitor ("layout"
cache); what differs per visitor and page must not be."""

import re

import pytest
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def signed_in(user, language="en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def csrf_token_in(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match is not None
    return match[1]


def test_the_support_admin_link_shows_to_staff_only_whoever_came_first():
    customer = UserFactory(phone_verified=True, language="en")
    agent = UserFactory(phone_verified=True, language="en", is_staff=True)

    first = signed_in(customer).get("/plans/").content.decode()
    second = signed_in(agent).get("/plans/").content.decode()
    third = signed_in(customer).get("/plans/").content.decode()

    assert "Support admin" not in first
    assert "Support admin" in second
    assert "Support admin" not in third


def test_a_visitor_signed_out_gets_the_sign_in_links_after_a_customer_saw_sign_out():
    customer = UserFactory(phone_verified=True, language="en")

    mine = signed_in(customer).get("/plans/").content.decode()
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en").get("/plans/").content.decode()

    assert 'id="nav-sign-out"' in mine and 'id="nav-sign-in"' not in mine
    assert 'id="nav-sign-in"' in anonymous and 'id="nav-sign-out"' not in anonymous


@pytest.mark.parametrize(("language", "my_lines"), [("nb", "Mine linjer"), ("zh-hans", "我的号码"), ("en", "My lines")])
def test_the_navigation_is_in_each_customers_own_language(language, my_lines):
    english = UserFactory(phone_verified=True, language="en")
    other = UserFactory(phone_verified=True, language=language)
    signed_in(english).get("/plans/")

    html = signed_in(other).get("/plans/").content.decode()

    assert f'<html lang="{language}">' in html
    assert f">{my_lines}</a>" in html
    assert re.search(rf'class="dropdown-item active"[^>]*value="{language}"', html)


def test_the_language_form_carries_each_visitors_own_token_and_page():
    one = UserFactory(phone_verified=True, language="en")
    two = UserFactory(phone_verified=True, language="en")

    first = signed_in(one).get("/plans/").content.decode()
    second = signed_in(two).get("/receipts/?page=2").content.decode()

    assert csrf_token_in(first) != csrf_token_in(second)
    assert '<input type="hidden" name="next" value="/plans/">' in first
    assert '<input type="hidden" name="next" value="/receipts/?page=2">' in second
