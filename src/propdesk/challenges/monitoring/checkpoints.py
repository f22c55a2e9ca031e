"""The monitor's checkpoints and leases (`MonitorCheckpoint`, one row per feed of the
account-event log), and which feed a stage's account falls in.

Leases: a monitor process reads a feed only while it holds the feed's lease. It renews its
leases every `RENEW_EVERY` seconds for `LEASE` seconds; a process that dies (kill -9, a lost
machine) stops renewing, and after at most `LEASE` seconds another takes its feeds over, from
their checkpoints. Processes share the feeds evenly: each takes free or lapsed ones up to its
share (the feeds divided by the live processes, rounded up) and gives back what it holds above
it, so a process that joins gets some within a few renewals.

Every write a monitor makes for a feed (a checkpoint, a verdict's effects) locks the feed's
row first and checks the lease is still its own: a process that paused past its lease (and was
taken over) writes nothing more.
"""

from __future__ import annotations

import hashlib
import math
import os
import socket
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Now
from django.utils import timezone

from propdesk.challenges.models import MonitorCheckpoint, StageAttempt
from propdesk.platforms import feeds
from propdesk.platforms.models import TradingServer

LEASE = 2.5  # seconds a lease lasts unless renewed: a dead monitor's feeds move this soon
RENEW_EVERY = 0.5  # seconds between renewals of the leases held (one short transaction)
SHARE_EVERY = 1.0  # seconds between two looks for feeds to take or give back
READ_MARK_EVERY = 1.0  # seconds between two writes of the feeds read well (`mark_read`)


def feed_key(attempt: StageAttempt) -> str:
    """The key of the feed the stage's account falls in."""
    return feeds.feed_key_for(attempt.server_id, attempt.login)


def lock(key: str) -> MonitorCheckpoint:
    """A feed's checkpoint, locked (created if new). The monitor's batches, staff's
    interventions and the stages' openings take it before any stage: one order, no deadlock."""
    MonitorCheckpoint.objects.get_or_create(key=key)
    return MonitorCheckpoint.objects.select_for_update().get(key=key)


def lock_for(attempt: StageAttempt) -> MonitorCheckpoint:
    return lock(feed_key(attempt))


def changed(attempt: StageAttempt) -> None:
    """Tell the monitor reading the stage's feed that the stage changed under it (staff
    reinstated, held, released or retried it; its account was opened): it looks at the stage
    again before its next batch. Call it in the transaction that made the change; it locks
    the feed's checkpoint (callers that lock stages take it first: `lock_for`)."""
    checkpoint = lock_for(attempt)
    checkpoint.changes += 1
    checkpoint.save(update_fields=["changes"])
    attempt.revision += 1
    attempt.changed_mark = checkpoint.changes
    StageAttempt.objects.filter(pk=attempt.pk).update(
        revision=F("revision") + 1, changed_mark=checkpoint.changes
    )


def applied_through(attempt: StageAttempt) -> int:
    """The feed position up to which the stage's saved state reflects its events: the feed's
    checkpoint, or further when the monitor wrote it ahead (a verdict, a pause). Read it with
    the checkpoint locked."""
    seen = MonitorCheckpoint.objects.filter(key=feed_key(attempt))
    position = seen.values_list("position", flat=True).first() or 0
    return max(position, fed(attempt))


def fed(attempt: StageAttempt) -> int:
    """The stage's `fed_through`, when it is a position in the feed its account falls in now
    (0 otherwise): a firm that moved its event log (the database's to NATS, another stream)
    starts the new feeds from their beginning, and positions in the old one mean nothing
    there."""
    if attempt.fed_through is None or attempt.fed_feed != feed_key(attempt):
        return 0
    return attempt.fed_through


def set_fed(attempt: StageAttempt, position: int) -> None:
    """The stage's saved state reflects its events up to `position` of its feed."""
    attempt.fed_through, attempt.fed_feed = position, feed_key(attempt)


def me() -> str:
    """This process's name as an owner of leases: the host, the process id and a random part
    (a restarted process with a reused id is not its predecessor)."""
    global _ME
    if _ME is None:
        _ME = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    return _ME


_ME: str | None = None


def share(keys: list[str], *, owner: str) -> list[str]:
    """Say this process is alive, renew its leases and take or give back feeds so the live
    processes share `keys` evenly; returns the keys it holds now (sorted). A process is live
    while its own `monitor:` row's lease runs (renewed here), so one that has just joined, and
    holds nothing yet, counts: the others give it its share at their next renewal."""
    now = timezone.now()
    until = now + timedelta(seconds=LEASE)
    MonitorCheckpoint.objects.update_or_create(
        key=_presence(owner), defaults={"owner": owner, "lease_until": until}
    )
    MonitorCheckpoint.objects.filter(
        key__startswith=PRESENCE, lease_until__lt=now - timedelta(hours=1)
    ).delete()  # processes long gone
    known = set(MonitorCheckpoint.objects.filter(key__in=keys).values_list("key", flat=True))
    MonitorCheckpoint.objects.bulk_create(
        [MonitorCheckpoint(key=k) for k in keys if k not in known], ignore_conflicts=True
    )
    with transaction.atomic():
        rows = list(
            MonitorCheckpoint.objects.select_for_update()
            .filter(key__in=keys)
            .order_by("key")
            .values_list("key", "owner", "lease_until")
        )
        live = set(
            MonitorCheckpoint.objects.filter(
                key__startswith=PRESENCE, lease_until__gt=now
            ).values_list("owner", flat=True)
        )
        live.add(owner)
        fair = math.ceil(len(rows) / len(live)) if rows else 0
        mine = [k for k, o, _ in rows if o == owner]
        free = [k for k, o, u in rows if o != owner and (not o or u is None or u <= now)]
        if len(mine) > fair:
            MonitorCheckpoint.objects.filter(key__in=mine[fair:], owner=owner).update(
                owner="", lease_until=None
            )
            mine = mine[:fair]
        taken = free[: max(0, fair - len(mine))]
        mine += taken
        MonitorCheckpoint.objects.filter(key__in=mine).filter(
            Q(owner=owner) | Q(key__in=taken)
        ).update(owner=owner, lease_until=until)
    return sorted(mine)


def renew(*, owner: str) -> None:
    """Renew this process's leases (and presence) without taking or giving any: between the
    loads of feeds just taken, which may take longer than a lease lasts. The rows are locked in
    the order of their keys, as `share` locks them: the monitor's lease keeper renews on a
    thread of its own while its loop shares, and an UPDATE alone locks the rows in the order
    it finds them (PostgreSQL broke such a deadlock every few seconds of the two in a loop)."""
    until = timezone.now() + timedelta(seconds=LEASE)
    with transaction.atomic():
        held = MonitorCheckpoint.objects.select_for_update().filter(
            owner=owner, lease_until__isnull=False
        )
        keys = list(held.order_by("key").values_list("key", flat=True))
        MonitorCheckpoint.objects.filter(key__in=keys, owner=owner).update(lease_until=until)


def mark_read(keys: list[str], *, owner: str) -> None:
    """The feeds `keys` were read without an error just now (`read_at`, by the database's
    clock, as /readyz reads it), those this process still holds. Locked in the order of their
    keys, as `renew` and `share` lock them (the lease keeper renews them on its own thread)."""
    with transaction.atomic():
        held = MonitorCheckpoint.objects.select_for_update().filter(key__in=keys, owner=owner)
        locked = list(held.order_by("key").values_list("key", flat=True))
        MonitorCheckpoint.objects.filter(key__in=locked, owner=owner).update(read_at=Now())


PRESENCE = "monitor:"  # a live process's own row: `monitor:<a digest of its name>`


def _presence(owner: str) -> str:
    return PRESENCE + hashlib.sha256(owner.encode()).hexdigest()[:24]


def release(keys: list[str], *, owner: str) -> None:
    """Give the leases back (a monitor stopping cleanly): another takes them at once."""
    MonitorCheckpoint.objects.filter(key__in=keys, owner=owner).update(owner="", lease_until=None)
    MonitorCheckpoint.objects.filter(key=_presence(owner)).delete()


def all_feed_keys(server_ids: list[int]) -> list[str]:
    """The feeds of the enabled servers' events: one per server with the database log, every
    partition with NATS."""
    if not feeds.using_nats():
        return [f"log:{pk}" for pk in sorted(server_ids)]
    return [f"nats:{p}" for p in range(settings.EVENT_PARTITIONS)]


def enabled_feed_keys() -> list[str]:
    """The feeds to read now: those of the enabled trading servers (a disabled or removed
    server's old checkpoint is no feed), as the monitor, /readyz and /metrics count them."""
    ids = list(TradingServer.objects.filter(enabled=True).values_list("pk", flat=True))
    return all_feed_keys(ids)
