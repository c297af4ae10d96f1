import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from accounts.forms import MobileNumberField, ProfileForm, SignupForm
from accounts.phone import format_phone, normalize_phone


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("91234567", "+4791234567"),
        ("912 34 567", "+4791234567"),
        ("+47 412 34 567", "+4741234567"),
        ("0047 412 34 567", "+4741234567"),
        ("+46 70 123 45 67", "+46701234567"),
        ("+86 138 0013 8000", "+8613800138000"),
    ],
)
def test_it_stores_mobile_numbers_as_e164(typed, stored):
    assert MobileNumberField().clean(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "not a number", "+47 1234", "999999999999999"])
def test_it_rejects_what_is_not_a_phone_number(typed):
    with pytest.raises(ValidationError) as caught:
        MobileNumberField().clean(typed)
    assert caught.value.code == "invalid"


def test_it_rejects_a_norwegian_landline_because_texts_cannot_reach_it():
    with pytest.raises(ValidationError) as caught:
        normalize_phone("+47 22 12 34 56")
    assert caught.value.code == "not_mobile"


def test_it_formats_numbers_for_people():
    assert format_phone("+4791234567") == "+47 912 34 567"
    assert format_phone("+4722123456") == "+47 22 12 34 56"
    assert format_phone("+46701234567") == "+46 70 123 45 67"


@pytest.mark.django_db
def test_signup_needs_an_email_or_a_mobile_number():
    form = SignupForm(
        data={"full_name": "Ola Nordmann", "password1": "a-long-pass-9876", "password2": "a-long-pass-9876"}
    )
    assert not form.is_valid()
    assert "Enter an email address or a mobile number" in form.non_field_errors()[0]


@pytest.mark.django_db
def test_signup_error_is_translated():
    with translation.override("nb"):
        form = SignupForm(data={"full_name": "Ola", "password1": "a-long-pass-9876", "password2": "a-long-pass-9876"})
        assert not form.is_valid()
        assert "mobilnummer" in form.non_field_errors()[0]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "contact",
    [{"email": "ola@example.test"}, {"phone": "912 34 567"}, {"email": "ola@example.test", "phone": "+4791234567"}],
)
def test_signup_accepts_email_or_phone_or_both(contact):
    form = SignupForm(
        data={"full_name": "Ola Nordmann", "password1": "a-long-pass-9876", "password2": "a-long-pass-9876", **contact}
    )
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    ("code", "valid"), [("0150", True), ("", True), ("150", False), ("01500", False), ("O150", False)]
)
def test_profile_postal_code_is_four_digits(code, valid):
    form = ProfileForm(
        data={
            "full_name": "Kari",
            "street_address": "Storgata 1",
            "postal_code": code,
            "city": "Oslo",
            "language": "nb",
        }
    )
    assert form.is_valid() is valid
