import pytest

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    user = UserFactory(is_staff=True, is_superuser=True, phone_verified=True, verified_email=True)
    client.force_login(user)
    return user


def test_staff_sign_in_to_the_admin_through_allauth(client):
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/accounts/login/?next=%2Fadmin%2F"
    assert 'name="login"' in response.content.decode()

    UserFactory(email="siri@example.test", is_staff=True, phone_verified=True, verified_email=True)
    response = client.post(
        "/accounts/login/?next=/admin/", {"login": "siri@example.test", "password": DEFAULT_PASSWORD, "next": "/admin/"}
    )
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_customer_is_refused_the_admin(client):
    client.force_login(UserFactory())
    assert client.get("/admin/", follow=True).status_code == 403


@pytest.mark.parametrize("term", ["kari.nordmann@example.test", "Nordmann", "+4741234567", "412 34 567", "41234567"])
def test_staff_find_a_customer_by_email_name_or_number(client, staff, term):
    UserFactory(email="kari.nordmann@example.test", full_name="Kari Nordmann", phone="+4741234567")
    UserFactory(email="li.wei@example.test", full_name="Li Wei", phone="+4791111111")
    html = client.get("/admin/accounts/user/", {"q": term}).content.decode()
    assert "kari.nordmann@example.test" in html
    assert "li.wei@example.test" not in html


def test_staff_open_a_customer_without_seeing_the_password_hash(client, staff):
    customer = UserFactory(full_name="王小明", language="zh-hans")
    response = client.get(f"/admin/accounts/user/{customer.pk}/change/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "王小明" in html
    assert customer.password not in html
