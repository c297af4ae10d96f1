"""The confirmation code of an eSIM profile that needs one (SGP.22: the
SM-DP+ keeps it from ConfirmOrder and the phone's user must type it before
the download). It is a second factor beside the QR code: never in the QR,
a URL, a task's arguments, a log line or an audit row.

1. ``esim_confirmation_code_issue`` (the provisioning worker, before
   ConfirmOrder): make the code, or make the same one again when a worker
   killed after ConfirmOrder runs the step again. The row keeps a random
   seed the code is derived from with the site's secret key, and the code's
   keyed hash.
2. ``esim_confirmation_code_queue`` (when the profile is ready, on commit):
   a worker emails it to the line's owner (``esim_confirmation_code_send``),
   and in the same transaction clears the seed: from then on the code can be
   checked (``esim_confirmation_code_matches``) but not made again.
3. The install page asks for the email again (``esim_confirmation_code_request``)
   when it has not left yet, e.g. the account had no email address then.
"""

from __future__ import annotations

import secrets

from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.models import User
from subscriptions.models import EsimConfirmationCode, EsimProfile
from subscriptions.services.audit import audit_record

CONFIRMATION_CODE_DIGITS = 8
SEED_BYTES = 32


class ConfirmationCodeGone(Exception):
    """The code was emailed and forgotten before the SM-DP+ confirmed it: it
    cannot be made again. Never expected (the email waits for the profile to
    be ready); the provisioning job stops, for support to look at."""


def _code_hash(code: str) -> str:
    return salted_hmac("subscriptions.esim.confirmation_code", code, algorithm="sha256").hexdigest()


def _code_from_seed(seed: str) -> str:
    digest = salted_hmac("subscriptions.esim.confirmation_code.seed", seed, algorithm="sha256").digest()
    return f"{int.from_bytes(digest, 'big') % 10**CONFIRMATION_CODE_DIGITS:0{CONFIRMATION_CODE_DIGITS}d}"


def esim_confirmation_code_issue(*, profile: EsimProfile) -> str:
    """The profile's confirmation code, made (and committed) the first time,
    the same on every later call until it is emailed. ConfirmationCodeGone
    after that."""
    seed = secrets.token_hex(SEED_BYTES)
    # get_or_create reads the row another worker made at the same moment.
    issued, _created = EsimConfirmationCode.objects.get_or_create(
        profile=profile, defaults={"seed": seed, "code_hash": _code_hash(_code_from_seed(seed))}
    )
    if not issued.seed:
        raise ConfirmationCodeGone(f"profile {profile.pk}: the confirmation code was already emailed")
    return _code_from_seed(issued.seed)


def esim_confirmation_code_queue(*, profile: EsimProfile) -> None:
    """Have the code emailed once this transaction commits."""
    from subscriptions.tasks import send_esim_confirmation_code

    transaction.on_commit(lambda: send_esim_confirmation_code.delay(profile.pk), robust=True)


def esim_confirmation_code_request(*, profile: EsimProfile, by: User) -> bool:
    """The owner opened Install: if the code has not been emailed yet (the
    account had no email address, or the worker has not got to it), ask for
    it again. True if it was asked for."""
    if not profile.confirmation_code_required or not by.email or profile.line is None:
        return False
    if profile.line.owner_id != by.pk:
        return False
    if not EsimConfirmationCode.objects.filter(profile=profile, sent_at=None).exclude(seed="").exists():
        return False
    esim_confirmation_code_queue(profile=profile)
    return True


@transaction.atomic
def esim_confirmation_code_send(*, profile_id: int) -> bool:
    """Email the code to the line's owner and forget it, once: under a lock
    on its row, a code already sent is not sent again. The email leaves
    inside the transaction, so a failed send keeps the seed and a retry
    sends the same code. True if an email left."""
    issued = (
        EsimConfirmationCode.objects.select_for_update(of=("self",))
        .select_related("profile__line__owner")
        .filter(profile_id=profile_id)
        .first()
    )
    if issued is None or not issued.seed or issued.profile.line is None:
        return False
    profile, line = issued.profile, issued.profile.line
    owner = line.owner
    if not owner.email:
        return False
    with translation.override(owner.language):
        context = {
            "number": line.number_display,
            "code": _code_from_seed(issued.seed),
            "iccid_last4": profile.iccid[-4:],
        }
        EmailMessage(
            subject=render_to_string("emails/esim_confirmation_code_subject.txt", context).strip(),
            body=render_to_string("emails/esim_confirmation_code_message.txt", context),
            to=[owner.email],
        ).send()
    issued.seed = ""
    issued.sent_to = owner.email
    issued.sent_at = timezone.now()
    issued.save(update_fields=["seed", "sent_to", "sent_at"])
    audit_record(
        line=line,
        action="esim_confirmation_code_emailed",
        by=None,
        data={"iccid": profile.iccid, "to": owner.email},
    )
    return True


def esim_confirmation_code_matches(*, profile: EsimProfile, code: str) -> bool:
    """Whether ``code`` is the profile's (support checking a code a customer
    reads out)."""
    issued = EsimConfirmationCode.objects.filter(profile=profile).first()
    return issued is not None and constant_time_compare(issued.code_hash, _code_hash(code.strip()))
