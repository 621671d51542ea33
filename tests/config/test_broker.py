"""The embedded broker hands every message, whole, to exactly one consumer."""

from __future__ import annotations

import logging
import multiprocessing
from pathlib import Path

import pytest
from django.conf import settings
from kombu import Exchange, Queue

from tests.config.broker_stress import VIGIL, connection, folders, fresh_queue, stress
from tests.config.test_runstack import embedded_only


@embedded_only
def test_the_embedded_default_uses_vigils_transport():
    assert settings.CELERY_BROKER_URL == "filesystem://"
    assert settings.CELERY_BROKER_TRANSPORT == VIGIL
    staging = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["staging_folder"])
    queue = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    assert staging.is_dir()
    assert staging.parent == queue.parent  # one filesystem: renames are atomic


@embedded_only  # the broker under test is the same in both passes: stress it once
def test_thousands_of_messages_between_processes_arrive_once_each_and_whole(
    tmp_path,
):
    # Bounded, not timed: a busy machine may take minutes.
    outcome = stress(tmp_path, producers=4, consumers=3, per_producer=2500, seconds=600)

    assert outcome.errors == []
    assert (outcome.sent, outcome.lost, outcome.duplicated) == (10_000, 0, 0)
    assert len(outcome.received) == 10_000
    assert outcome.left_in_queue == 0
    assert not any((tmp_path / "staging").iterdir())
    assert not any((tmp_path / "processed").iterdir())


def test_a_message_still_being_written_is_not_in_the_queue(tmp_path):
    options, queue = folders(tmp_path), fresh_queue()
    with connection(VIGIL, options) as conn:
        channel = conn.default_channel
        queue(channel).declare()
        # What a producer leaves while it writes: a file in the staging folder.
        (tmp_path / "staging" / "half.tmp").write_bytes(b'{"body": "par')
        assert channel.basic_get(queue.name, no_ack=True) is None

        conn.Producer().publish({"n": 1}, exchange=queue.name, routing_key=queue.name)
        message = channel.basic_get(queue.name, no_ack=True)

    assert message.decode() == {"n": 1}


def test_an_unreadable_message_file_is_kept_aside_and_the_next_one_delivered(
    tmp_path, caplog
):
    options, queue = folders(tmp_path), fresh_queue()
    empty = f"000000000000000_empty.{queue.name}.msg"
    with connection(VIGIL, options) as conn:
        channel = conn.default_channel
        queue(channel).declare()
        # What a power cut can leave: a message file that was never written.
        (tmp_path / "queue" / empty).write_bytes(b"")
        conn.Producer().publish({"n": 2}, exchange=queue.name, routing_key=queue.name)
        with caplog.at_level(logging.ERROR, logger="config.broker"):
            message = channel.basic_get(queue.name, no_ack=True)

    assert message.decode() == {"n": 2}
    kept = tmp_path / "processed" / f"{empty}.unreadable"
    assert kept.exists()
    assert f"message file is not JSON; kept as {kept}" in caplog.text


def fanout(name: str) -> Exchange:
    return Exchange(name, type="fanout", durable=False)


def bind(options: dict[str, str], exchange: str, name: str) -> None:
    with connection(VIGIL, options) as conn:
        Queue(name, fanout(exchange), durable=False)(conn.default_channel).declare()


@embedded_only  # the filesystem broker in either pass: tested once
def test_queues_bound_at_once_from_many_processes_all_hear_a_fanout(tmp_path):
    options, exchange = folders(tmp_path), fanout(fresh_queue().name)
    names = [f"relay-{n}" for n in range(8)]
    spawn = multiprocessing.get_context("spawn")
    binders = [
        spawn.Process(target=bind, args=(options, exchange.name, name))
        for name in names
    ]
    for process in binders:
        process.start()
    for process in binders:
        process.join(60)
    assert [process.exitcode for process in binders] == [0] * len(names)

    with connection(VIGIL, options) as conn:
        conn.Producer().publish({"event": 1}, exchange=exchange, routing_key="")
        channel = conn.default_channel
        heard = {name: channel.basic_get(name, no_ack=True) for name in names}

    assert {name: m and m.decode() for name, m in heard.items()} == {
        name: {"event": 1} for name in names
    }


@pytest.mark.parametrize("bindings", [["a"], ["a", "b"]])
def test_unbinding_a_queue_keeps_the_other_bindings(tmp_path, bindings):
    options, exchange = folders(tmp_path), fanout(fresh_queue().name)
    names = [f"{exchange.name}-{name}" for name in bindings]
    with connection(VIGIL, options) as conn:
        channel = conn.default_channel
        for name in names:
            Queue(name, exchange, durable=False)(channel).declare()
        channel.queue_delete(names[0])
        table = channel.get_table(exchange.name)

    assert [entry.queue for entry in table] == names[1:]
