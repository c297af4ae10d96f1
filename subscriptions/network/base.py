"""The one interface the network's provisioning speaks: block a number,
unblock it, move it to another SIM's IMSI (after an eSIM replacement), and
release its IMSI (a cancelled line's SIM is no longer the number's).

Every call carries our request id: the network does a request once, and
answers a repeat of it (a retry after a lost answer) as it answered the
first. Errors say whether to try again:

- ``NetworkUnavailable``: not reached, too slow, a 5xx, or an answer we
  cannot read. Nothing is known to have happened; repeat with the same id.
- ``NetworkRefused``: the network said no (an unknown number, an IMSI that
  is not the number's or is someone else's), with its code. Repeating will
  not help; support looks at it.

Neither is shown to a customer: the customer sees the line's state and, at
most, that support is looking at the request.
"""

from __future__ import annotations

from typing import Protocol


class NetworkError(Exception):
    """Something went wrong provisioning the network. Never shown to a customer."""


class NetworkUnavailable(NetworkError):
    """Transient: retry the same call with the same request id."""


class NetworkRefused(NetworkError):
    """The network refused, with its code (``unknown_msisdn``,
    ``imsi_mismatch``, ``imsi_in_use``, ``request_id_reused``, ...)."""

    def __init__(self, *, code: str, message: str = "") -> None:
        self.code = code
        self.message = message
        super().__init__(f"network refused: {code}: {message}"[:300])


class NetworkProvisioning(Protocol):
    name: str
    # The settings it cannot work without (the system check refuses to
    # start a deployment whose network adapter lacks one).
    required_settings: tuple[str, ...]

    def block_line(self, *, msisdn: str, request_id: str) -> None:
        """Bar every service on the number (a lost or stolen phone)."""
        ...

    def unblock_line(self, *, msisdn: str, request_id: str) -> None: ...

    def swap_imsi(self, *, msisdn: str, old_imsi: str, new_imsi: str, request_id: str) -> None:
        """Move the number from the SIM with ``old_imsi`` to the one with
        ``new_imsi``; refused if the number is not on ``old_imsi``. Done
        already, it answers as done."""
        ...

    def release_imsi(self, *, msisdn: str, imsi: str, request_id: str) -> None:
        """Take the number off the SIM with ``imsi`` (a cancelled line): the
        number has no IMSI afterwards, and the IMSI may go to another
        number. Done already, it answers as done; refused
        (``imsi_mismatch``) if the number is on another IMSI."""
        ...
