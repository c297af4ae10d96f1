"""Our adapter for the sandbox's pretend network (``sandbox.network``, which
production does not install)."""

from __future__ import annotations

from collections.abc import Callable

from sandbox import network as sandbox
from subscriptions.network.base import NetworkRefused


class SandboxNetwork:
    name = "sandbox"
    required_settings: tuple[str, ...] = ()
    https_settings: tuple[str, ...] = ()

    def block_line(self, *, msisdn: str, request_id: str) -> None:
        self._do(lambda: sandbox.network_block(msisdn=msisdn, request_id=request_id))

    def unblock_line(self, *, msisdn: str, request_id: str) -> None:
        self._do(lambda: sandbox.network_unblock(msisdn=msisdn, request_id=request_id))

    def swap_imsi(self, *, msisdn: str, old_imsi: str, new_imsi: str, request_id: str) -> None:
        self._do(
            lambda: sandbox.network_swap_imsi(
                msisdn=msisdn, old_imsi=old_imsi, new_imsi=new_imsi, request_id=request_id
            )
        )

    def release_imsi(self, *, msisdn: str, imsi: str, request_id: str) -> None:
        self._do(lambda: sandbox.network_release_imsi(msisdn=msisdn, imsi=imsi, request_id=request_id))

    def _do(self, call: Callable[[], object]) -> None:
        try:
            call()
        except sandbox.NetworkRefusal as refusal:
            raise NetworkRefused(code=refusal.code, message=str(refusal)) from None
