"""The embedded default's queue in files keeps a taken message until it is
acknowledged, and gives back one whose worker died."""

import os
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

import portal.broker  # noqa: F401  (registers durablefs://)


@pytest.fixture(autouse=True)
def queue_of_its_own(monkeypatch):
    """kombu keeps the bindings of every filesystem queue of the process in
    one table, so each test gets a queue name of its own."""
    name = f"work-{uuid.uuid4().hex}"
    monkeypatch.setattr(f"{__name__}.QUEUE", Queue(name, Exchange(name), routing_key=name))


QUEUE = Queue("work", Exchange("work"), routing_key="work")


def connection(tmp_path: Path, **options: object) -> Connection:
    folder = tmp_path / "queue"
    folder.mkdir(exist_ok=True)
    return Connection(
        "durablefs://localhost/",
        transport_options={
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
            "control_folder": str(tmp_path),
            **options,
        },
    )


def publish(tmp_path: Path, body: str) -> None:
    with connection(tmp_path) as conn:
        conn.Producer().publish(body, exchange=QUEUE.exchange, routing_key=QUEUE.routing_key, declare=[QUEUE])


def processing(tmp_path: Path) -> list[str]:
    return sorted(path.name for path in (tmp_path / "queue" / "processing").glob("*.msg"))


def test_a_message_is_kept_while_its_task_runs_and_gone_once_acknowledged(tmp_path):
    publish(tmp_path, "callback")
    with connection(tmp_path) as conn:
        message = conn.SimpleQueue(QUEUE).get(timeout=1)
        assert message.payload == "callback"
        assert len(processing(tmp_path)) == 1
        message.ack()
    assert processing(tmp_path) == []


def test_a_message_whose_worker_died_goes_back_to_the_queue_after_the_visibility_timeout(tmp_path):
    publish(tmp_path, "callback")
    dying = connection(tmp_path)
    assert dying.SimpleQueue(QUEUE).get(timeout=1).payload == "callback"
    # Its worker dies here: no acknowledgement and no shutdown (a warm
    # shutdown would hand the message back itself); its file stays behind.
    [left] = processing(tmp_path)
    old = time.time() - 61
    os.utime(tmp_path / "queue" / "processing" / left, (old, old))

    with connection(tmp_path, visibility_timeout=60) as conn:
        again = conn.SimpleQueue(QUEUE).get(timeout=1)
        assert again.payload == "callback"
        again.ack()
    assert processing(tmp_path) == []
    dying.default_channel.do_restore = False  # it is dead: nothing to hand back at exit


def test_a_message_another_worker_still_holds_is_not_taken_from_it(tmp_path):
    publish(tmp_path, "callback")
    with connection(tmp_path, visibility_timeout=60) as holder, connection(tmp_path, visibility_timeout=60) as other:
        held = holder.SimpleQueue(QUEUE).get(timeout=1)
        queue = other.SimpleQueue(QUEUE)
        try:
            queue.get(timeout=0.5)
            raise AssertionError("a held message was handed out twice")
        except queue.Empty:
            pass
        held.ack()
