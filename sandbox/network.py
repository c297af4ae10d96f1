"""The pretend network's provisioning, in this process: it keeps, per
number, the IMSI it is on and whether it is blocked, and every request it
took by request id (the same id again answers the same; an id that comes
with another request is refused). It knows every number the portal asks
about: one it has not seen is taken to be on the ``old_imsi`` given (a
number first seen by a block, which names no IMSI, is taken to be on the
one its first swap names).

The portal's adapter (``subscriptions.network.sandbox``) calls these as the
HTTP adapter calls the operator's API, and gets ``NetworkRefusal`` where
that answers 4xx.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from sandbox.models import SandboxNetworkRequest, SandboxSubscriber

BLOCK, UNBLOCK, SWAP, RELEASE = "block", "unblock", "imsi_swap", "release"


class NetworkRefusal(Exception):
    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(message or code)
        self.code = code


def network_block(*, msisdn: str, request_id: str) -> None:
    _request(action=BLOCK, msisdn=msisdn, request_id=request_id)


def network_unblock(*, msisdn: str, request_id: str) -> None:
    _request(action=UNBLOCK, msisdn=msisdn, request_id=request_id)


def network_swap_imsi(*, msisdn: str, old_imsi: str, new_imsi: str, request_id: str) -> None:
    _request(action=SWAP, msisdn=msisdn, request_id=request_id, old_imsi=old_imsi, new_imsi=new_imsi)


def network_release_imsi(*, msisdn: str, imsi: str, request_id: str) -> None:
    """The number leaves its SIM (a cancelled line); its IMSI is free again."""
    _request(action=RELEASE, msisdn=msisdn, request_id=request_id, old_imsi=imsi)


def network_subscriber(*, msisdn: str) -> SandboxSubscriber | None:
    return SandboxSubscriber.objects.filter(msisdn=msisdn).first()


def network_history(*, msisdn: str) -> list[SandboxNetworkRequest]:
    return list(SandboxNetworkRequest.objects.filter(msisdn=msisdn))


def _request(*, action: str, msisdn: str, request_id: str, old_imsi: str = "", new_imsi: str = "") -> None:
    asked = (action, msisdn, old_imsi, new_imsi)
    try:
        with transaction.atomic():
            known = SandboxNetworkRequest.objects.filter(request_id=request_id).first()
            if known is None:
                error = _perform(action=action, msisdn=msisdn, old_imsi=old_imsi, new_imsi=new_imsi)
                known = SandboxNetworkRequest.objects.create(
                    request_id=request_id,
                    action=action,
                    msisdn=msisdn,
                    old_imsi=old_imsi,
                    new_imsi=new_imsi,
                    error=error,
                )
    except IntegrityError:
        # The same id at the same moment: the first one's answer stands.
        known = SandboxNetworkRequest.objects.get(request_id=request_id)
    if (known.action, known.msisdn, known.old_imsi, known.new_imsi) != asked:
        raise NetworkRefusal("request_id_reused", "this request id came with another request")
    if known.error:
        raise NetworkRefusal(known.error)


def _perform(*, action: str, msisdn: str, old_imsi: str, new_imsi: str) -> str:
    """Do it; the error code, or "" when done."""
    subscriber, _created = SandboxSubscriber.objects.select_for_update().get_or_create(
        msisdn=msisdn, defaults={"imsi": old_imsi}
    )
    if action == BLOCK:
        subscriber.blocked = True
    elif action == UNBLOCK:
        subscriber.blocked = False
    elif action == RELEASE:
        if subscriber.imsi and subscriber.imsi != old_imsi:
            return "imsi_mismatch"
        subscriber.imsi = ""
    else:
        if subscriber.imsi and subscriber.imsi != old_imsi:
            return "imsi_mismatch"
        if SandboxSubscriber.objects.filter(imsi=new_imsi).exclude(pk=subscriber.pk).exists():
            return "imsi_in_use"
        subscriber.imsi = new_imsi
    subscriber.save(update_fields=["blocked", "imsi"])
    return ""
