"""The embedded broker: kombu's filesystem transport, with whole messages only.

kombu's own filesystem transport creates a message's file in the queue
folder and then writes into it, while a consumer lists that folder, claims
the files it finds and decodes them. A consumer that comes between the two
reads an empty file: the worker stopped on `JSONDecodeError` within minutes
of `make run` (beat sends a message every second), and the message was lost.
Its consumers also claim a file by moving it to the system's temporary
folder, which is a copy, not an atomic rename, when that folder is on
another filesystem.

This transport keeps kombu's folders, file names and exchange tables and
changes how files come and go, so that every file a consumer can see is
complete and every file goes to exactly one consumer:

- a producer writes the message into the staging folder and renames it into
  the queue folder (`os.replace`, atomic on one filesystem);
- a consumer claims a message by renaming it into the processed folder, which
  only one consumer can do, then reads and removes it; a file that still does
  not decode (a power cut can leave one empty) is set aside there with an
  `.unreadable` suffix and logged, and consuming goes on;
- an exchange's bindings are rewritten the same way, under a lock file, so a
  publisher never reads a table that is being written.

Every folder must be on the same filesystem (settings put them all under
`var/broker/`). Messages are not written with fsync, as kombu's are not: a
power cut may cost the messages of its last seconds, which the beat sweeps
send again from the database.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from queue import Empty
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)

Table = list[filesystem.exchange_queue_t]


class Channel(filesystem.Channel):
    """A filesystem channel that shows consumers complete messages only."""

    # The signatures of kombu's filesystem channel, which its stubs also
    # declare as overriding the virtual channel's loosely.
    def _put(  # type: ignore[override]
        self, queue: str, payload: dict[str, Any], **kwargs: Any
    ) -> None:
        """Put `payload` onto `queue`: write it aside, then rename it in."""
        # Zero-padded so that names sort in the order they were written.
        name = f"{int(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        self._write_whole(
            Path(self.data_folder_out) / name, str_to_bytes(dumps(payload))
        )

    def _get(self, queue: str) -> dict[str, Any]:  # type: ignore[override]
        """Claim, read and remove the oldest message of `queue`."""
        wanted = f"{queue}.msg"
        inbox = Path(self.data_folder_in)
        for name in sorted(os.listdir(inbox)):
            if name.partition(".")[2] != wanted:
                continue
            claimed = self.claimed_folder / name
            try:
                os.rename(inbox / name, claimed)
            except FileNotFoundError:
                continue  # another consumer claimed it first
            except OSError as exc:
                raise ChannelError(f"Cannot claim {name!r} from the queue") from exc
            try:
                payload = claimed.read_bytes()
            except OSError as exc:
                raise ChannelError(f"Cannot read claimed file {claimed}") from exc
            try:
                message: dict[str, Any] = loads(bytes_to_str(payload))
            except ValueError:
                kept = claimed.with_name(f"{name}.unreadable")
                os.replace(claimed, kept)
                logger.error("message file is not JSON; kept as %s", kept)
                continue
            if not self.store_processed:
                claimed.unlink()
            return message
        raise Empty()

    def _queue_bind(
        self, exchange: str, routing_key: str, pattern: str | None, queue: str
    ) -> None:
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue)
        self._change_table(
            exchange, lambda table: table if entry in table else [entry, *table]
        )

    def _delete(
        self,
        queue: str,
        exchange: str,
        routing_key: str,
        pattern: str,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        # The virtual channel's part (purge the queue) without the filesystem
        # channel's, which rewrites the table in place.
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue)
        self._change_table(exchange, lambda table: [q for q in table if q != entry])

    def _change_table(self, exchange: str, change: Callable[[Table], Table]) -> None:
        """Replace an exchange's bindings by `change(bindings)`, whole."""
        # kombu's check that the name stays inside the control folder.
        file: Path = self._exchange_file(exchange)  # type: ignore[attr-defined]
        self.control_folder.mkdir(parents=True, exist_ok=True)
        with open(file.with_name(f"{file.name}.lock"), "ab") as guard:
            fcntl.flock(guard.fileno(), fcntl.LOCK_EX)  # released on close
            table = self.get_table(exchange)
            changed = change(table)
            if changed != table:
                self._write_whole(file, str_to_bytes(dumps(changed)))

    def _write_whole(self, path: Path, data: bytes) -> None:
        """Write `data` to `path` so that nobody ever sees part of it."""
        staged = self.staging_folder / f"{uuid.uuid4()}.tmp"
        try:
            with open(staged, "xb") as out:
                out.write(data)
            os.replace(staged, path)
        except OSError as exc:
            staged.unlink(missing_ok=True)
            raise ChannelError(f"Cannot write {path}") from exc

    @cached_property
    def staging_folder(self) -> Path:
        folder = Path(
            self.transport_options.get("staging_folder")
            or Path(self.data_folder_out) / ".staging"
        )
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    @cached_property
    def claimed_folder(self) -> Path:
        folder = Path(self.processed_folder)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


class Transport(filesystem.Transport):
    """kombu's filesystem transport with `Channel` above."""

    Channel = Channel
    global_state = virtual.BrokerState()
