"""The account-event log on NATS JetStream (`PROPDESK_EVENT_LOG=nats://host:port`): what the
ingestors append goes to a JetStream stream instead of the database's table, partitioned by
account, so that several monitors can each read their own partitions (natsfeed.NatsFeed).

The stream (`settings.EVENT_STREAM`, made or brought up to date by `ensure_stream`) keeps the
subjects `<prefix>.>`, where `<prefix>` is the stream's name in lower case. Each event is one
message on `<prefix>.<partition>.<server id>.<login token>`, its body the payload as compact
JSON. An account's partition is `partition_of(login)`, a CRC-32 of the login: the same in every
process and on every machine. The login token is the login with every byte outside
[A-Za-z0-9_-] written `=XX` (its UTF-8 bytes in hex), so any login is one valid subject token
and JetStream can find one account's events by its subject alone.

Stored on file, kept under the limits policy for `settings.EVENT_RETENTION_DAYS` days (max age),
with a de-duplication window of two minutes.

Exactly once: each message carries `Nats-Msg-Id: <server id>:<source>` (the event's `source`,
which the database log keeps unique), and JetStream drops a message whose id it has seen within
the stream's duplicate window. An ingestor publishes a batch, waits for every acknowledgement,
and only then commits its own position (`eventlog.ingesting`): a crash in between re-publishes
the batch at the next pull, and the copies are dropped. The limit: a re-publication later than
the window (two minutes) would be stored again, so an ingestor must not stay down with an
uncommitted batch longer than that (a copy keeps its `Nats-Msg-Id`, which a reader could
check; natsfeed does not).

The NATS documentation this follows:
- de-duplication by `Nats-Msg-Id` within the duplicate window:
  https://docs.nats.io/nats-concepts/jetstream/headers and
  https://docs.nats.io/jetstream/model_deep_dive (Message Deduplication);
- streams (subjects, file storage, limits retention, max age, duplicate window):
  https://docs.nats.io/nats-concepts/jetstream/streams;
- consumers (pull, ack policy none, deliver by start sequence, filter subject, num_pending,
  inactive threshold): https://docs.nats.io/jetstream/concepts/consumers and
  https://docs.nats.io/nats-concepts/jetstream/consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import zlib
from collections.abc import Sequence
from typing import Any

import nats.js.errors
from django.conf import settings
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig

from propdesk.platforms.natsclient import Connection, NatsLogError, connection

__all__ = ["NatsLogError"]

DUPLICATE_WINDOW = 120.0  # seconds: JetStream's de-duplication window (see the module's note)
ACK_TIMEOUT = 20.0  # seconds to wait for a batch's acknowledgements
Published = tuple[str, dict[str, Any], str]  # (login, payload, source), as eventlog.Appended

_PLAIN = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPED = re.compile(r"=([0-9A-F]{2})")


def enabled() -> bool:
    """Whether the account-event log is NATS (else the database's table)."""
    return str(settings.EVENT_LOG).startswith("nats://")


def client() -> Connection:
    if not enabled():
        raise NatsLogError("the account-event log is the database (PROPDESK_EVENT_LOG)")
    return connection(settings.EVENT_LOG)


def stream_name() -> str:
    return str(settings.EVENT_STREAM)


def prefix() -> str:
    return stream_name().lower()


def partition_of(login: str) -> int:
    """The partition of an account's events: CRC-32 of its UTF-8 login, modulo the partitions
    (stable across processes, machines and Python versions, unlike `hash`)."""
    return zlib.crc32(str(login).encode()) % int(settings.EVENT_PARTITIONS)


def feed_key(server_id: int, login: str) -> str:
    """The key of the feed that carries this account's events (the monitor's checkpoint)."""
    return f"nats:{partition_of(login)}"


def login_token(login: str) -> str:
    """The login as one subject token: bytes outside [A-Za-z0-9_-] written `=XX`."""
    text = str(login)
    if not text:
        raise ValueError("an account's login cannot be empty")
    if _PLAIN.fullmatch(text):
        return text
    return "".join(
        chr(byte) if _PLAIN.fullmatch(chr(byte)) else f"={byte:02X}" for byte in text.encode()
    )


def login_of(token: str) -> str:
    """The login a token was made from (`login_token` undone)."""
    if "=" not in token:
        return token
    raw = _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), token)
    return raw.encode("latin-1").decode()


def subject(server_id: int, login: str) -> str:
    return f"{prefix()}.{partition_of(login)}.{int(server_id)}.{login_token(login)}"


def partition_subject(partition: int) -> str:
    return f"{prefix()}.{int(partition)}.>"


def message_id(server_id: int, source: str) -> str:
    return f"{int(server_id)}:{source}"


def stream_config(name: str | None = None) -> StreamConfig:
    name = name or stream_name()
    return StreamConfig(
        name=name,
        description="propdesk's account-event log (docs/event-log.md)",
        subjects=[f"{name.lower()}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=float(settings.EVENT_RETENTION_DAYS) * 86400,
        duplicate_window=DUPLICATE_WINDOW,
        num_replicas=1,
    )


async def _ensure(js: JetStreamContext, conn: Connection) -> None:
    name = stream_name()
    if name in conn.streams_ensured:
        return
    wanted = stream_config(name)
    try:
        info = await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        await js.add_stream(wanted)  # the same config made twice at once: the server agrees
    else:
        have = info.config
        if (
            have.subjects != wanted.subjects
            or have.max_age != wanted.max_age
            or have.duplicate_window != wanted.duplicate_window
        ):
            await js.update_stream(wanted)
    conn.streams_ensured.add(name)


def ensure_stream() -> None:
    """Make the stream, or bring its subjects, max age and duplicate window up to the settings
    (its storage cannot change; the retention policy is limits from the start)."""
    conn = client()

    async def work(nc: Client, js: JetStreamContext) -> None:
        await _ensure(js, conn)

    conn.run(work)


def delete_stream(name: str) -> None:
    """Drop a stream and what it holds (the tests' own streams; a firm starting over)."""
    conn = client()

    async def work(nc: Client, js: JetStreamContext) -> None:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(name)
        conn.streams_ensured.discard(name)

    conn.run(work)


def publish(server_id: int, events: Sequence[Published]) -> int:
    """Publish a server's events, in the order given, and wait until JetStream acknowledged
    each one; returns how many were new (the others' ids were seen within the duplicate
    window). Raises NatsLogError when an acknowledgement is missing or refused: nothing is
    known then, and the caller publishes the whole batch again (the ids keep each event once)."""
    if not events:
        return 0
    conn = client()
    name = stream_name()
    messages = [
        (
            subject(server_id, login),
            json.dumps(payload, separators=(",", ":")).encode(),
            message_id(server_id, source),
        )
        for login, payload, source in events
    ]

    async def work(nc: Client, js: JetStreamContext) -> int:
        await _ensure(js, conn)
        futures = [
            await js.publish_async(to, body, headers={"Nats-Msg-Id": msg_id})
            for to, body, msg_id in messages
        ]
        _, missing = await asyncio.wait(futures, timeout=ACK_TIMEOUT)
        for future in missing:
            future.cancel()
        if missing:
            raise NatsLogError(
                f"{len(missing)} of {len(futures)} events were not acknowledged by the stream "
                f"{name} within {ACK_TIMEOUT:g} s"
            )
        refused = [f.exception() for f in futures if f.exception() is not None]
        if refused:
            conn.streams_ensured.discard(name)  # the stream may be gone: check it again
            raise NatsLogError(f"the stream {name} refused {len(refused)} events: {refused[0]}")
        return sum(1 for f in futures if not f.result().duplicate)

    return conn.run(work, timeout=ACK_TIMEOUT + 10)
