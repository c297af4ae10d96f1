"""Phone numbers: parsed with the phonenumbers library (default region Norway)
and stored in E.164, e.g. +4791234567."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DEFAULT_REGION = "NO"


def normalize_phone(raw: str) -> str:
    """Return the E.164 form of a mobile number a person typed, or raise
    ValidationError with a message they can act on."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a mobile number."), code="required")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise ValidationError(
            _("Enter a valid mobile number, for example 912 34 567 or +47 912 34 567."), code="invalid"
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _("Enter a valid mobile number, for example 912 34 567 or +47 912 34 567."), code="invalid"
        )
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationError(
            _("This is not a mobile number: we can only send text messages to mobiles."), code="not_mobile"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """The international display form: +47 912 34 567 for a Norwegian mobile
    (as Norwegians write them; the library would group them 2-2-2-2), the
    library's international form for anything else."""
    if len(e164) == 11 and e164.startswith(("+474", "+479")) and e164[1:].isdigit():
        local = e164[3:]
        return f"+47 {local[:3]} {local[3:5]} {local[5:]}"
    try:
        number = phonenumbers.parse(e164, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
