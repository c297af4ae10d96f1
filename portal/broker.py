"""The embedded default's task queue: kombu's filesystem transport, made to
lose nothing when a worker dies.

kombu's own filesystem transport deletes a message's file as a worker takes
it, so the message then lives only in that worker's memory: a worker killed
before the task ends loses it, whatever ``acks_late`` says. Here a taken
message's file moves to a ``processing`` folder instead and is deleted when
the task is acknowledged (or handed back). While a worker holds a message it
keeps the file's time fresh; a file left untouched for longer than
``visibility_timeout`` belonged to a worker that died, and the next worker
that polls puts it back in the queue, as Redis does with its unacknowledged
messages.

Used by its alias in the broker URL: ``durablefs://localhost/``.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from queue import Empty
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem, virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads

ALIAS = "durablefs"
DEFAULT_VISIBILITY_TIMEOUT = 300


class QoS(virtual.QoS):
    channel: Channel

    def ack(self, delivery_tag: Any) -> None:
        super().ack(delivery_tag)
        self.channel.held_release(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        super().reject(delivery_tag, requeue=requeue)
        self.channel.held_release(delivery_tag)


class Channel(filesystem.Channel):
    QoS = QoS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The messages this channel has taken and not yet acknowledged: delivery tag → file.
        self.held: dict[str, Path] = {}
        self.looked_after = 0.0

    @property
    def processing_folder(self) -> Path:
        folder = Path(self.transport_options.get("processing_folder", Path(self.data_folder_in) / "processing"))
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @property
    def visibility_timeout(self) -> float:
        return float(self.transport_options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        """The oldest message of ``queue``, its file moved to the processing
        folder (a rename, so two workers cannot both take it)."""
        self._look_after_processing()
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(self.data_folder_in)):
            if name.partition(".")[2] != wanted:
                continue
            held = self.processing_folder / name
            try:
                os.rename(os.path.join(self.data_folder_in, name), held)
            except OSError:
                continue  # another worker took it first
            os.utime(held)
            payload: dict[str, Any] = loads(bytes_to_str(held.read_bytes()))
            self.held[payload["properties"]["delivery_tag"]] = held
            return payload
        raise Empty()

    def _restore(self, message: Any) -> None:
        """Handed back (a rejected message, or a worker's warm shutdown): a
        fresh file in the queue, and the held one goes."""
        super()._restore(message)
        self.held_release(message.delivery_tag)

    def held_release(self, delivery_tag: Any) -> None:
        held = self.held.pop(delivery_tag, None)
        if held is not None:
            held.unlink(missing_ok=True)

    def _look_after_processing(self) -> None:
        """A few times per visibility timeout: keep the files of the messages
        held here fresh, and put back in the queue those left stale by a
        worker that died."""
        now = time.time()
        if now - self.looked_after < self.visibility_timeout / 4:
            return
        self.looked_after = now
        for held in self.held.values():
            with contextlib.suppress(FileNotFoundError):
                os.utime(held)
        ours = set(self.held.values())
        for path in self.processing_folder.glob("*.msg"):
            try:
                stale = path not in ours and now - path.stat().st_mtime > self.visibility_timeout
                if stale:
                    os.rename(path, os.path.join(self.data_folder_in, path.name))
            except OSError:
                continue  # gone meanwhile, or put back by another worker


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"
