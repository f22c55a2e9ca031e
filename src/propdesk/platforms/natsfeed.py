"""A partition of the NATS account-event log as a feed (platforms.feeds.Feed): its key is
`nats:<partition>`, its positions the stream's sequence numbers (increasing, with gaps where
other partitions' events fall).

A feed keeps one consumer of ours on its partition's subjects open while it is read on from
where the last read ended (a pull consumer without acknowledgements, read in big batches:
natsclient.Puller), and starts a new one when asked for another position. `wait` asks the same
consumer for one message with an expiry: an idle monitor sleeps in the server instead of
polling, and what arrives is the start of the next read. `account_events` and `lag` use a
short-lived consumer each, filtered on one account's subject or on the partition.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

from django.conf import settings
from nats.aio.client import Client
from nats.js import JetStreamContext

from propdesk.platforms import natslog
from propdesk.platforms.feeds import FeedEvent, Lag
from propdesk.platforms.natsclient import Delivered, NatsLogError, Puller

ACCOUNT_BATCH = 5000  # messages one pull of `account_events` asks for


def decode(message: Delivered) -> FeedEvent:
    """A delivered message as a feed event: server and login from its subject, the payload from
    its body."""
    _, _, server, token = message.subject.split(".", 3)
    return FeedEvent(
        message.sequence, int(server), natslog.login_of(token), json.loads(message.data)
    )


class NatsFeed:
    """One partition of the NATS event log (see the module's note). A feed is read by one
    thread at a time (its consumer's position is the feed's); feeds share the process's
    connection."""

    def __init__(self, partition: int) -> None:
        if not 0 <= partition < settings.EVENT_PARTITIONS:
            raise ValueError(f"no partition {partition} (there are {settings.EVENT_PARTITIONS})")
        self.partition = partition
        self.key = f"nats:{partition}"
        self._conn = natslog.client()
        self._stream = natslog.stream_name()
        self._subject = natslog.partition_subject(partition)
        self._puller: Puller | None = None
        self._at = 0  # the position the puller's buffer follows on from
        self._generation = 0  # the connection's when the puller was made

    # --- reading on --------------------------------------------------------------------------

    async def _positioned(self, nc: Client, js: JetStreamContext, after: int) -> Puller:
        """The puller, its buffer starting right after `after` (a new one when it cannot)."""
        puller = self._puller
        if (
            puller is not None
            and puller.broken is None
            and self._generation == self._conn.generation
            and self._at <= after <= puller.last
        ):
            while puller.buffer and puller.buffer[0].sequence <= after:
                puller.buffer.popleft()
            self._at = after
            return puller
        if puller is not None:
            await puller.stop(js)
        puller = self._puller = Puller(self._stream, self._subject)
        self._at, self._generation = after, self._conn.generation
        await puller.start(nc, js, after=after)
        return puller

    def read(self, *, after: int, limit: int) -> list[FeedEvent]:
        async def work(nc: Client, js: JetStreamContext) -> list[Delivered]:
            for _ in range(2):  # a lost consumer (a NATS restart) is made again once
                puller = await self._positioned(nc, js, after)
                if len(puller.buffer) < limit and (puller.pending or not puller.buffer):
                    await puller.pull(limit - len(puller.buffer))
                if puller.broken is None:
                    return self._hand_out(puller, limit)
                await puller.stop(js)
                self._puller = None
            raise NatsLogError(f"reading {self._subject}: {puller.broken}")

        return [decode(message) for message in self._conn.run(work)]

    def _hand_out(self, puller: Puller, limit: int) -> list[Delivered]:
        taken = [puller.buffer.popleft() for _ in range(min(limit, len(puller.buffer)))]
        if taken:
            self._at = taken[-1].sequence
        return taken

    def wait(self, *, after: int, timeout: float) -> bool:
        """Whether events after `after` are there, waiting up to `timeout` seconds for the first
        one (in the server: a pull request that expires)."""

        async def work(nc: Client, js: JetStreamContext) -> bool:
            for _ in range(2):
                puller = await self._positioned(nc, js, after)
                if puller.buffer or puller.pending:
                    return True
                await puller.pull(1, wait=timeout)
                if puller.broken is None:
                    return bool(puller.buffer)
                await puller.stop(js)
                self._puller = None
            raise NatsLogError(f"waiting on {self._subject}: {puller.broken}")

        return self._conn.run(work, timeout=timeout + 30)

    # --- one account, the lag ----------------------------------------------------------------

    def account_events(
        self, server_id: int, login: str, *, after: int, upto: int
    ) -> list[FeedEvent]:
        """One account's events with positions in (after, upto], read by its own subject."""
        if natslog.partition_of(login) != self.partition:
            return []
        subject = natslog.subject(server_id, login)

        async def work(nc: Client, js: JetStreamContext) -> list[Delivered]:
            puller = Puller(self._stream, subject)
            try:
                await puller.start(nc, js, after=after)
                found: list[Delivered] = []
                while puller.pending and (not found or found[-1].sequence < upto):
                    await puller.pull(min(ACCOUNT_BATCH, puller.pending))
                    if puller.broken is not None:
                        raise NatsLogError(f"reading {subject}: {puller.broken}")
                    if not puller.buffer:
                        break
                    found += puller.buffer
                    puller.buffer.clear()
                return [m for m in found if m.sequence <= upto]
            finally:
                await puller.stop(js)

        return [decode(message) for message in self._conn.run(work)]

    def lag(self, *, after: int) -> Lag:
        """The partition's events after `after` (the count a consumer starting there has
        pending) and the seconds since the first of them was published."""

        async def work(nc: Client, js: JetStreamContext) -> Lag:
            puller = Puller(self._stream, self._subject)
            try:
                await puller.start(nc, js, after=after)
                count = puller.pending
                if not count:
                    return Lag(0, 0.0)
                await puller.pull(1)
                if not puller.buffer:
                    return Lag(count, 0.0)
                seconds = time.time() - puller.buffer[0].published_ns / 1e9
                return Lag(count, max(0.0, seconds))
            finally:
                await puller.stop(js)

        return self._conn.run(work)

    def close(self) -> None:
        """Drop the feed's consumer (the server would after its idle threshold anyway)."""
        puller, self._puller = self._puller, None
        if puller is None:
            return

        async def work(nc: Client, js: JetStreamContext) -> None:
            await puller.stop(js)

        with contextlib.suppress(NatsLogError):
            self._conn.run(work, timeout=10)

    def __enter__(self) -> NatsFeed:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
