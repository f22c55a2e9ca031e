"""A synchronous face on nats-py for the account-event log's NATS mode (natslog.py, natsfeed.py):
the ingestors and the monitor are synchronous Django code, nats-py is asyncio.

One `Connection` per process and server URL (`connection()`): its own asyncio loop runs in a
daemon thread, and callers hand it coroutines (`run`) with `run_coroutine_threadsafe`, waiting
for the result with a deadline. It connects at its first use and, once connected, nats-py
reconnects by itself after the server went away (a NATS restart): requests made meanwhile fail
with a timeout, and the caller's retry finds it back. A forked process (a worker started by
gunicorn) makes its own connection: an event loop and a socket do not survive a fork.

`Puller` reads a JetStream consumer of ours with raw pull requests (`$JS.API.CONSUMER.MSG.NEXT`)
into one inbox whose callback only keeps what arrives: measured on this machine with 50,000
events, nats-py's own `fetch` (and an ordered push consumer read with `next_msg`) gave about
30,000 messages a second, the raw pull with a callback 100,000, JSON decoding included, because
`next_msg` costs a future and a queue round per message. A message's stream sequence, time and
the consumer's own sequence are read from its reply subject, the `$JS.ACK` subject JetStream
gives every delivered message (its two forms, with and without a domain, as the Ruby client
documents them: https://www.rubydoc.info/gems/nats-pure/NATS/JetStream/Msg/Ack), not through
`msg.metadata`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, TypeVar

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, ReplayPolicy

T = TypeVar("T")

CONNECT_TIMEOUT = 2.0  # seconds to reach the server at the first use
CALL_TIMEOUT = 30.0  # seconds a call may take at most (a publish of a big batch included)
REQUEST_TIMEOUT = 5.0  # seconds for one JetStream API request
CONSUMER_IDLE = 300.0  # seconds after which the server drops a consumer of ours nobody reads


class NatsLogError(Exception):
    """The NATS event log could not do what was asked (not reachable, no acknowledgement, the
    consumer lost): the caller retries what it was doing, the whole batch."""


class Connection:
    """One process's connection to a NATS server, with the asyncio loop it runs on."""

    def __init__(self, url: str) -> None:
        self.url = url
        # The address as messages name it: without the user and password of nats://u:p@host.
        self.shown = re.sub(r"//[^@/]*@", "//", url)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="propdesk-nats", daemon=True
        )
        self._thread.start()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._connecting: asyncio.Lock | None = None
        self.streams_ensured: set[str] = set()  # stream names checked by this connection
        # Counts the reconnections: a consumer of ours made before one may be gone with the
        # server (natsfeed makes its own again rather than wait for a pull to go unanswered).
        self.generation = 0

    def run(
        self,
        work: Callable[[Client, JetStreamContext], Awaitable[T]],
        *,
        timeout: float = CALL_TIMEOUT,
    ) -> T:
        """Run `work(nc, js)` on the connection's loop and give back its result (or raise its
        error); NatsLogError when it takes longer than `timeout`."""
        future = asyncio.run_coroutine_threadsafe(self._call(work), self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise NatsLogError(
                f"NATS at {self.shown} did not answer within {timeout:g} s"
            ) from None

    async def _call(self, work: Callable[[Client, JetStreamContext], Awaitable[T]]) -> T:
        nc, js = await self._connected()
        return await work(nc, js)

    async def _connected(self) -> tuple[Client, JetStreamContext]:
        if self._nc is not None and self._js is not None and not self._nc.is_closed:
            return self._nc, self._js
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._nc is None or self._js is None or self._nc.is_closed:
                try:
                    self._nc = await nats.connect(
                        servers=[self.url],
                        name=f"propdesk-{os.getpid()}",
                        connect_timeout=CONNECT_TIMEOUT,
                        allow_reconnect=True,
                        max_reconnect_attempts=1,  # at the first connect: fail soon
                        reconnect_time_wait=0.5,
                        error_cb=_ignore,
                        disconnected_cb=_quiet,
                        reconnected_cb=self._reconnected,
                        closed_cb=_quiet,
                    )
                except Exception as error:
                    raise NatsLogError(
                        f"NATS at {self.shown} is not reachable ({error or type(error).__name__})"
                    ) from error
                # Connected once: from now on reconnect for ever, the server comes back.
                self._nc.options["max_reconnect_attempts"] = -1
                self._js = self._nc.jetstream(timeout=REQUEST_TIMEOUT)
                self.streams_ensured.clear()
            assert self._nc is not None
            assert self._js is not None
            return self._nc, self._js

    async def _reconnected(self) -> None:
        self.generation += 1
        self.streams_ensured.clear()

    def close(self) -> None:
        async def closing() -> None:
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(closing(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)


async def _ignore(error: Exception) -> None:
    """nats-py reports connection trouble here while it reconnects; calls meanwhile fail on
    their own deadline, which is what callers see."""


async def _quiet() -> None:
    pass


_connections: dict[tuple[int, str], Connection] = {}
_connections_lock = threading.Lock()


def connection(url: str) -> Connection:
    """This process's connection to the server at `url` (made at the first call)."""
    key = (os.getpid(), url)
    with _connections_lock:
        if key not in _connections:
            _connections[key] = Connection(url)
        return _connections[key]


def disconnect(url: str) -> None:
    """Close this process's connection to `url`, if it has one (a server that is going away
    for good; the next use connects again)."""
    with _connections_lock:
        found = _connections.pop((os.getpid(), url), None)
    if found is not None:
        found.close()


class Delivered(NamedTuple):
    """A message as a consumer of ours delivered it."""

    sequence: int  # the stream's
    published_ns: int  # when the stream took it in, nanoseconds since the epoch
    pending: int  # messages the consumer still had after this one
    subject: str
    data: bytes


def parse_reply(reply: str) -> tuple[int, int, int, int]:
    """(stream sequence, consumer sequence, published ns, pending) from a `$JS.ACK` subject:
    `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ns>.<pending>`, or with the
    domain and account hash before the stream (and a token after) in the newer form."""
    tokens = reply.split(".")
    base = 2 if len(tokens) == 9 else 4
    if len(tokens) < 9 or tokens[0] != "$JS" or tokens[1] != "ACK":
        raise NatsLogError(f"not a JetStream delivery: {reply!r}")
    return (
        int(tokens[base + 3]),
        int(tokens[base + 4]),
        int(tokens[base + 5]),
        int(tokens[base + 6]),
    )


class Puller:
    """A consumer of ours on `stream`, filtered on `subject`, starting after a position, read by
    pull requests into an inbox; what arrives is kept in `buffer` in the stream's order.

    Acknowledgements are off (AckPolicy none): the consumer moves as it delivers, so nothing
    that arrives may be dropped. Every delivered message is appended; a gap in the consumer's
    own sequence (a message lost on the way, a reconnect) marks the puller `broken`, and its
    owner starts a new one from the last position it handed out."""

    def __init__(self, stream: str, subject: str) -> None:
        self.stream = stream
        self.subject = subject
        self.buffer: deque[Delivered] = deque()
        self.broken: str | None = None
        self.pending = 0  # the consumer's count after the last delivery (at creation: all)
        self.last = 0  # the stream sequence of the last message delivered (at creation: the start)
        self.name = ""
        self._nc: Client | None = None
        self._sub: Any = None
        self._inbox = ""
        self._consumer_seq = 0
        self._arrived = 0
        self._wanted = 0
        self._status: str | None = None
        self._done = asyncio.Event()

    async def start(self, nc: Client, js: JetStreamContext, *, after: int) -> None:
        self._nc = nc
        self.last = after
        self._inbox = nc.new_inbox()
        self._sub = await nc.subscribe(
            self._inbox,
            cb=self._arrive,
            pending_msgs_limit=1_000_000,
            pending_bytes_limit=1024 * 1024 * 1024,
        )
        info = await js.add_consumer(
            self.stream,
            ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=after + 1,
                ack_policy=AckPolicy.NONE,
                replay_policy=ReplayPolicy.INSTANT,
                filter_subject=self.subject,
                inactive_threshold=CONSUMER_IDLE,
                mem_storage=True,
                num_replicas=1,
            ),
        )
        assert info.name is not None
        self.name = info.name
        self.pending = int(info.num_pending or 0)

    async def _arrive(self, msg: Msg) -> None:
        status = msg.headers.get("Status") if msg.headers else None
        if status is not None or not msg.reply:
            self._status = status or "?"
            self._done.set()
            return
        sequence, consumer_seq, published, pending = parse_reply(msg.reply)
        if consumer_seq != self._consumer_seq + 1 and self.broken is None:
            self.broken = f"consumer sequence {consumer_seq} after {self._consumer_seq}"
        self._consumer_seq = consumer_seq
        self.pending = pending
        self.last = sequence
        self.buffer.append(Delivered(sequence, published, pending, msg.subject, msg.data))
        self._arrived += 1
        if self._arrived >= self._wanted:
            self._done.set()

    async def pull(self, count: int, *, wait: float | None = None) -> None:
        """Ask for `count` more messages and return when they came, or when the server said it
        has no more (at once; or, given `wait` seconds, when that time ran out without any)."""
        assert self._nc is not None
        self._arrived, self._wanted, self._status = 0, count, None
        self._done.clear()
        request: dict[str, Any] = {"batch": count}
        if wait is None:
            request["no_wait"] = True
        else:
            request["expires"] = int(wait * 1e9)
        await self._nc.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{self.stream}.{self.name}",
            json.dumps(request).encode(),
            reply=self._inbox,
        )
        try:
            await asyncio.wait_for(self._done.wait(), (wait or 0) + REQUEST_TIMEOUT)
        except TimeoutError:
            if not self._arrived:
                self.broken = "no answer to a pull request"
        if self._status is not None and self._status[:3] not in {"404", "408"}:
            self.broken = f"pull answered {self._status}"  # 503: the consumer is gone

    async def stop(self, js: JetStreamContext) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
            self._sub = None
        if self.name:
            with contextlib.suppress(Exception):
                await js.delete_consumer(self.stream, self.name)
            self.name = ""
