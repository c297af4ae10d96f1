import pytest
from allauth.account.adapter import get_adapter
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CODE_SMS = "Your Nordlys Mobil code is %(code)s. It is valid for a few minutes; never share it."


@pytest.mark.parametrize("typed", ["91234567", "912 34 567", "+47 912 34 567", "004791234567"])
def test_it_finds_a_customer_by_the_number_however_it_is_typed(typed):
    user = UserFactory(phone="+4791234567")
    assert get_adapter().get_user_by_phone(typed) == user


def test_it_finds_nobody_for_an_unknown_or_invalid_number():
    UserFactory(phone="+4791234567")
    assert get_adapter().get_user_by_phone("+4799999999") is None
    assert get_adapter().get_user_by_phone("hello") is None


def test_it_stores_and_reports_the_phone_and_its_verification():
    user = UserFactory(phone=None)
    adapter = get_adapter()
    assert adapter.get_phone(user) is None

    adapter.set_phone(user, "+4741234567", False)
    assert adapter.get_phone(User.objects.get(pk=user.pk)) == ("+4741234567", False)

    adapter.set_phone_verified(user, "+4741234567")
    assert User.objects.get(pk=user.pk).phone_verified is True


def test_verification_code_sms_is_written_in_the_customers_language(sms_outbox, django_capture_on_commit_callbacks):
    user = UserFactory(language="nb")
    with django_capture_on_commit_callbacks(execute=True):
        get_adapter().send_verification_code_sms(user, user.phone, "ABC123")
    assert len(sms_outbox) == 1
    assert sms_outbox[0].to == user.phone
    with translation.override("nb"):
        expected = gettext(CODE_SMS) % {"code": "ABC123"}
    assert sms_outbox[0].body == expected
    assert "Your Nordlys Mobil code" not in expected


def test_sms_leaves_only_when_the_transaction_commits(sms_outbox, django_capture_on_commit_callbacks):
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        get_adapter().send_verification_code_sms(user, user.phone, "ABC123")
    assert sms_outbox == []
    assert len(callbacks) == 1


def test_emails_are_rendered_in_the_recipients_stored_language(client, django_capture_on_commit_callbacks):
    UserFactory(email="kari@example.test", language="nb", verified_email=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/accounts/password/reset/", {"email": "kari@example.test"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "passord" in mail.outbox[0].subject.lower() + mail.outbox[0].body.lower()
