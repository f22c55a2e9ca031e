"""One feed's running stages in memory (`FeedWatcher`): each stage's evaluator is loaded once,
fed the feed's events as they are read, and written back with the feed's position in a
checkpoint (`checkpoint`, about every second), not at every batch: a batch then costs the
reading and the rules, not a JSON round trip of every stage's state and a commit.

What a verdict or a pause does is written at once, in a transaction of its own with the stage's
state and the position of the event that caused it (`fed_through`); a restart from the last
checkpoint reads the events after it again and skips, for such a stage, those up to its
`fed_through`, so nothing is applied twice and nothing is missed. A verdict's effects are
idempotent on the stage's status besides: a stage that is no longer running takes no events.

Staff act on stages in the database (monitor.catch_up, suspension, interventions); each such
change counts on the feed's checkpoint row (`checkpoints.changed`), and before its next batch
the watcher compares its stages with the running ones and loads again any that staff changed.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from propdesk.challenges.models import CurvePoint, MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import alerts, checkpoints, curve, decisions
from propdesk.challenges.monitoring.monitor import (
    RulesCache,
    _conclude,
    _evaluator,
    _open,
    _run,
    keep_due,
    write_states,
)
from propdesk.challenges.participation.lifecycle import Opening
from propdesk.platforms import feeds
from propdesk.platforms.feeds import FeedEvent
from propdesk.rules.errors import InputError
from propdesk.rules.evaluator import Evaluator
from propdesk.rules.model import Outcome

CHECKPOINT_EVERY: float | None = None  # seconds between two checkpoints (None: the setting's)
WRITE_AT_ONCE = 300  # changed stages a round writes of a checkpoint under way
LOAD_AT_ONCE = 2000  # stages whose states one query loads
DAYS_LOOKED_EVERY = 0.25  # seconds: how stale the next due time a watcher knows may be
ABSENT_FOR = 5.0  # seconds an account with no running stage is not looked up again

_ROW = ("id", "participation_id", "stage", "kind", "login", "server_id", "status", "revision")
_STATE = (
    "evaluator_state",
    "curve_open",
    "paused",
    "day_end",
    "next_due",
    "fed_through",
    "fed_feed",
    "alert_state",
)

Account = tuple[int, str]  # (server id, login)

logger = logging.getLogger(__name__)


def _time_of(event: FeedEvent, key: str) -> datetime | None:
    """The event's own time, for the days to close by; None when it has none or none that
    reads (`2026-02-30T10:00:00`). Such an event does not stop the feed: its stage's rules
    refuse it and set the stage aside for staff (`_apply`), the rest of the feed reads on."""
    payload = event.payload if isinstance(event.payload, dict) else {}
    try:
        return parse_datetime(str(payload.get("t") or ""))
    except ValueError:
        logger.warning(
            "event time unreadable",
            extra={"feed": key, "position": event.position, "server": event.server_id},
        )
        return None


def checkpoint_every() -> float:
    """Seconds between two checkpoints of a busy feed (PROPDESK_MONITOR_CHECKPOINT_SECONDS)."""
    if CHECKPOINT_EVERY is not None:
        return CHECKPOINT_EVERY
    return float(settings.MONITOR_CHECKPOINT_SECONDS)


class LostLease(Exception):
    """Another monitor process holds the feed now: this one stops reading it."""


class Entry:
    """A running stage as the watcher holds it."""

    __slots__ = ("alerts", "attempt", "dirty", "evaluator", "points", "skip_to")

    def __init__(self, attempt: StageAttempt, evaluator: Evaluator) -> None:
        self.attempt = attempt
        self.evaluator = evaluator
        self.dirty = False
        self.points: list[CurvePoint] = []  # closed curve buckets not written yet
        self.skip_to = checkpoints.fed(attempt)  # events up to here are in its state
        self.alerts: alerts.StageWatch | None = None  # the alerts its challenge switched on


class FeedWatcher:
    """A feed's running stages, in memory, read on from the feed's checkpoint. `owner`: the
    lease holder this process is (None: a one-off read, as `monitor.read` and the tests do,
    which takes no lease)."""

    def __init__(self, key: str, *, owner: str | None = None) -> None:
        self.key = key
        self.owner = owner
        self.feed = feeds.feed_for(key)
        self.entries: dict[Account, Entry] = {}
        self.absent: dict[Account, float] = {}
        self.known: RulesCache = {}
        self.position = self.saved = 0
        self.cycle: list[Entry] | None = None  # a checkpoint's stages still to write
        self.target = 0  # ... and the position it moves to once they are
        self.changes = 0
        self.saved_at = time.monotonic()
        # The next instant the clock alone acts on one of its stages (a day end, a weekend
        # cutoff), as last seen.
        self.next_due: datetime | None = None
        self.days_looked = 0.0
        self.read_to: datetime | None = None  # the time of the last event read
        self.drained_at: datetime | None = None  # when a read last found the feed's end
        self.behind = True  # its last read was a full batch: more may be waiting
        self.unsaved_reads = 0  # events read since the checkpoint last moved (`events_read`)
        # The alerts the firms switched on, by challenge (monitoring.alerts), and when the
        # settings and the clock alerts were last looked at.
        self.alert_settings: dict[int, alerts.Thresholds] = {}
        self.alerts_looked = self.clock_looked = -1e9

    # --- loading ------------------------------------------------------------------------

    def load(self) -> None:
        """Every running stage of the feed, from the checkpoint on."""
        checkpoint, _ = MonitorCheckpoint.objects.get_or_create(key=self.key)
        self.position = self.saved = checkpoint.position
        self.unsaved_reads = 0
        self.changes = checkpoint.changes
        # Its first checkpoint at its first read: a feed taken over says soon that it moves.
        self.saved_at = time.monotonic() - checkpoint_every()
        self.entries.clear()
        self.absent.clear()
        alerts.refresh_settings(self, force=True)
        for attempt in self._running():
            self._hold(attempt)

    def _running(self, accounts: Iterable[Account] | None = None) -> list[StageAttempt]:
        """The feed's running stages (of those `accounts`), with their states."""
        found = StageAttempt.objects.filter(
            status=StageAttempt.Status.IN_PROGRESS, monitor_error="", held_after__isnull=True
        ).exclude(login="")
        if isinstance(self.feed, feeds.LogFeed):
            found = found.filter(server_id=self.feed.server_id)
        if accounts is not None:
            by_server: dict[int, list[str]] = defaultdict(list)
            for server_id, login in accounts:
                by_server[server_id].append(login)
            rows: list[StageAttempt] = []
            for server_id, logins in by_server.items():
                rows += self._rows(found.filter(server_id=server_id, login__in=logins))
            return rows
        # Every running stage: which are this feed's is read first (ids and logins alone:
        # with NATS a partition holds a share of every server's), then their states.
        ids = [a.pk for a in self._mine(found.only("id", "server_id", "login"))]
        rows = []
        for start in range(0, len(ids), LOAD_AT_ONCE):
            rows += self._rows(found.filter(pk__in=ids[start : start + LOAD_AT_ONCE]))
        return rows

    def _rows(self, query: Any) -> list[StageAttempt]:
        rows = query.annotate(
            version_id=F("participation__version_id"), challenge_of=F("participation__challenge_id")
        ).only(*_ROW, *_STATE)
        return [a for a in rows if feeds.feed_key_for(a.server_id, a.login) == self.key]

    def _hold(self, attempt: StageAttempt) -> Entry | None:
        account = (attempt.server_id, attempt.login)
        try:
            entry = Entry(attempt, _evaluator(attempt, self.known))
        except Exception as exc:  # its saved state or its rules cannot be read
            self._set_aside(attempt, exc)
            return None
        entry.alerts = alerts.watch_for(self, attempt)
        self.entries[account] = entry
        self.absent.pop(account, None)
        if self.cycle is not None:
            # Taken up while a checkpoint is under way: its state may hold events before the
            # checkpoint's position (`_catch_up`), so it is written before the checkpoint moves.
            self.cycle.append(entry)
        return entry

    def _catch_up(self, entry: Entry) -> None:
        """A stage loaded while the watcher runs: feed it the events the watcher read after its
        saved state (since the checkpoint, or its `fed_through`) before the next batch's."""
        attempt = entry.attempt
        after = max(self.saved, entry.skip_to)
        if after >= self.position:
            return
        missed = self.feed.account_events(
            attempt.server_id, attempt.login, after=after, upto=self.position
        )
        if missed:
            self._apply({(attempt.server_id, attempt.login): missed})

    def refresh(self) -> None:
        """Look again at the stages staff changed since the last look (the checkpoint's
        `changes`, and each changed stage's `changed_mark`): drop those no longer running,
        load again those changed."""
        changes = (
            MonitorCheckpoint.objects.filter(key=self.key).values_list("changes", flat=True).first()
        )
        if changes is None or changes <= self.changes:
            return
        changed = StageAttempt.objects.filter(
            changed_mark__gt=self.changes, changed_mark__lte=changes
        ).exclude(login="")
        self.changes = changes
        self.absent.clear()
        fresh: list[Account] = []
        for row in self._mine(changed.only("id", "server_id", "login", "revision")):
            account = (row.server_id, row.login)
            held = self.entries.get(account)
            if held is not None and (
                held.attempt.pk != row.pk or held.attempt.revision != row.revision
            ):
                del self.entries[account]
            if account not in self.entries:
                fresh.append(account)
        for attempt in self._running(fresh) if fresh else []:
            taken = self._hold(attempt)
            if taken is not None:
                self._catch_up(taken)

    def _mine(self, query: Any) -> list[StageAttempt]:
        if isinstance(self.feed, feeds.LogFeed):
            query = query.filter(server_id=self.feed.server_id)
        return [a for a in query if feeds.feed_key_for(a.server_id, a.login) == self.key]

    # --- reading ------------------------------------------------------------------------

    def step(self, *, limit: int, began: datetime | None = None) -> int:
        """Read the next events (about `limit`) and apply them; returns how many were read.
        `began`: when the events this read may find were taken in (the ingestors' pull), for
        `drained_at`."""
        started = began or timezone.now()
        self.refresh()
        alerts.refresh_settings(self)
        events = self.feed.read(after=self.position, limit=limit)
        self.behind = len(events) >= limit
        if not self.behind:
            self.drained_at = started
        if not events:
            return 0
        by_account: dict[Account, list[FeedEvent]] = defaultdict(list)
        for event in events:
            by_account[(event.server_id, event.login)].append(event)
        now = time.monotonic()
        unknown = [
            a
            for a in by_account
            if a not in self.entries and now - self.absent.get(a, -ABSENT_FOR) >= ABSENT_FOR
        ]
        if unknown:
            for attempt in self._running(unknown):
                entry = self._hold(attempt)
                if entry is not None:
                    self._catch_up(entry)
            for account in unknown:
                if account not in self.entries:
                    self.absent[account] = now
        self._apply(by_account)
        self.position = events[-1].position
        self.unsaved_reads += len(events)
        at = _time_of(events[-1], self.key)
        if at is not None:
            self.read_to = at
        return len(events)

    def _apply(self, by_account: dict[Account, list[FeedEvent]]) -> None:
        acting: list[tuple[Entry, list[Outcome], int | None]] = []
        alerting: list[Entry] = []
        for account, events in by_account.items():
            entry = self.entries.get(account)
            if entry is None:
                continue
            seen = [(e.position, e.payload) for e in events if e.position > entry.skip_to]
            if not seen:
                continue
            try:
                if entry.alerts is None:
                    outcomes, snaps, last = _run(entry.evaluator, seen)
                else:
                    outcomes, snaps, last = alerts.run(entry.evaluator, seen, entry.alerts)
                    if entry.alerts.changed_at is not None:
                        alerting.append(entry)
                entry.points += curve.take(entry.attempt, snaps)
            except Exception as exc:  # the rules, the state or the curve cannot go on
                del self.entries[account]
                self._set_aside(entry.attempt, exc)
                continue
            entry.dirty = True
            if outcomes:
                acting.append((entry, outcomes, last))
        if acting:
            self._act(acting)
        if alerting:  # after the verdicts: a stage that ended sends no alert
            alerts.send(self, alerting)

    def _act(
        self, acting: list[tuple[Entry, list[Outcome], int | None]], *, after_event: bool = True
    ) -> None:
        """The stages whose rules acted: their effects and states, written now (one
        transaction, each stage in a savepoint of its own), each with the position of the
        event that made them act (`fed_through`)."""
        openings: list[Opening] = []
        self._check_lease()
        with transaction.atomic():
            # By id: the order a suspension locks a client's stages in (suspension._lock_all),
            # so the two never wait for each other.
            for entry, outcomes, last in sorted(acting, key=lambda a: a[0].attempt.pk):
                attempt = entry.attempt
                try:
                    with transaction.atomic():
                        opened = _conclude(
                            attempt,
                            entry.evaluator,
                            outcomes,
                            last,
                            closed=entry.points,
                            after_event=after_event,
                        )
                except Exception as exc:
                    self.entries.pop((attempt.server_id, attempt.login), None)
                    self._set_aside(attempt, exc)
                    continue
                if opened is None or attempt.status != StageAttempt.Status.IN_PROGRESS:
                    # ended (by its rules now, or by staff meanwhile): no longer watched
                    self.entries.pop((attempt.server_id, attempt.login), None)
                else:
                    entry.dirty, entry.points = False, []
                    entry.skip_to = checkpoints.fed(attempt)
                openings += opened or []
        _open(openings)

    def close_days(self, moment: datetime, *, limit: int | None = None) -> int:
        """Bring the stages that are due (`Evaluator.next_due`: a day that ended, a weekend
        cutoff that passed, by `moment`) up to `moment` (`close_until`); returns the verdicts
        and pauses that caused. The stages are looked through at most every
        `DAYS_LOOKED_EVERY` seconds while none is due (the clock acts five seconds behind
        anyway). The clock alerts are looked at afterwards (`alerts.look_at_clock`): a stage
        that the closing ended (no trade for too long, its period over) gets no alert."""
        acted = self._close_due(moment, limit=limit)
        alerts.look_at_clock(self, moment)
        return acted

    def _close_due(self, moment: datetime, *, limit: int | None) -> int:
        if (
            self.next_due is not None
            and moment < self.next_due
            and time.monotonic() - self.days_looked < DAYS_LOOKED_EVERY
        ):
            return 0
        self.days_looked = time.monotonic()
        ends = [(e.evaluator.next_due, e) for e in self.entries.values()]
        due = sorted(
            ((end, e.attempt.pk, e) for end, e in ends if end is not None and end <= moment),
            key=lambda d: (d[0], d[1]),
        )
        later = [end for end, _ in ends if end is not None and end > moment]
        self.next_due = min(later) if later else None
        acting: list[tuple[Entry, list[Outcome], int | None]] = []
        for _, _, entry in due[:limit] if limit is not None else due:
            try:
                outcomes = list(entry.evaluator.close_until(moment))
            except InputError:
                continue  # the clock is behind the account's last event: nothing to close
            except Exception as exc:
                self.entries.pop((entry.attempt.server_id, entry.attempt.login), None)
                self._set_aside(entry.attempt, exc)
                continue
            keep_due(entry.attempt, entry.evaluator)
            entry.dirty = True
            if outcomes:
                acting.append((entry, outcomes, self.position))
        if limit is not None and len(due) > limit:
            self.next_due = None  # more are due: look again at the next round
        if acting:
            self._act(acting, after_event=False)
            decisions.days_closed(self.key, moment, sum(len(o) for _, o, _ in acting))
        return sum(len(o) for _, o, _ in acting)

    def soonest_due(self) -> datetime | None:
        """The next instant the clock alone acts on one of its stages (`Evaluator.next_due`:
        a day end or a weekend cutoff), None when none runs."""
        ends = [e.evaluator.next_due for e in self.entries.values() if e.evaluator.next_due]
        return min(ends) if ends else None

    # --- writing ------------------------------------------------------------------------

    def due(self) -> bool:
        """Whether a checkpoint is due (`checkpoint_every()` since the last, with something to
        write)."""
        return time.monotonic() - self.saved_at >= checkpoint_every() and (
            self.position != self.saved or any(e.dirty for e in self.entries.values())
        )

    def write_some(self, *, measure: Callable[[], feeds.Lag | None] | None = None) -> None:
        """The running monitor's checkpoint, a little at a time, so that no round stalls on
        it: when one is due, the stages changed so far are queued and the feed's position
        noted; each call writes the next `WRITE_AT_ONCE` of them (each stage with the position
        its state has reached, its `fed_through`), and once all are written the checkpoint
        moves to the noted position (every running stage's saved state has reached it), with
        the lag `measure` gives."""
        if self.cycle is None:
            if not self.due():
                return
            self.cycle = [e for e in self.entries.values() if e.dirty]
            self.target = self.position
        some, self.cycle = self.cycle[:WRITE_AT_ONCE], self.cycle[WRITE_AT_ONCE:]
        self._write(some)
        if not self.cycle:
            self._move(self.target, None if measure is None else measure())

    def checkpoint(self, *, lag: feeds.Lag | None = None) -> None:
        """Write every changed stage's state and move the checkpoint to the feed's position,
        at once (a one-off read, a monitor stopping, the tests)."""
        self._write([e for e in self.entries.values() if e.dirty])
        self._move(self.position, lag)

    def _write(self, entries: list[Entry]) -> None:
        """The stages' states as they are now (those still changed: a verdict or a pause may
        have written one since it was queued), with the feed's position as their
        `fed_through`, in one short transaction. A stage staff changed or ended meanwhile is
        not written (`write_states`) and is dropped: `refresh` loads it again if it runs."""
        held = self.entries
        entries = [
            e for e in entries if e.dirty and held.get((e.attempt.server_id, e.attempt.login)) is e
        ]
        if not entries:
            return
        self._check_lease()
        position = self.position
        for entry in entries:
            entry.attempt.evaluator_state = entry.evaluator.state()
            keep_due(entry.attempt, entry.evaluator)
            checkpoints.set_fed(entry.attempt, position)
        with transaction.atomic():
            written = write_states([e.attempt for e in entries])
            points = [p for e in entries if e.attempt.pk in written for p in e.points]
            CurvePoint.objects.bulk_create(points, ignore_conflicts=True)
        for entry in entries:
            if entry.attempt.pk in written:
                entry.dirty, entry.points, entry.skip_to = False, [], position
            else:
                self.entries.pop((entry.attempt.server_id, entry.attempt.login), None)

    def _move(self, position: int, lag: feeds.Lag | None) -> None:
        with transaction.atomic():
            checkpoint = self._lock()
            if checkpoint.changes != self.changes:
                self._take_up_before_moving()
            checkpoint.position = position
            checkpoint.events_read += self.unsaved_reads
            fields = ["position", "events_read"]
            if lag is not None:
                checkpoint.events_behind, checkpoint.seconds_behind = lag.events, lag.seconds
                checkpoint.measured_at = timezone.now()
                fields += ["events_behind", "seconds_behind", "measured_at"]
            checkpoint.save(update_fields=fields)
        self.cycle = None
        self.saved = position
        self.saved_at = time.monotonic()
        self.unsaved_reads = 0

    def _take_up_before_moving(self) -> None:
        """Staff changed stages since the last look (`refresh`), and with the checkpoint row
        locked no more change comes: staff brought such a stage's state up to the checkpoint
        as it is still (before the move), so it is taken up and written now. Taken up after
        the move, it would be fed the events after the new position only, and those between
        the two would be missed."""
        before = {id(e) for e in self.entries.values()}
        self.refresh()
        self._write([e for e in self.entries.values() if e.dirty and id(e) not in before])

    def _check_lease(self) -> None:
        """A look (no lock) that the lease is still this process's: a stage's own write is
        safe either way (it checks the stage still runs as loaded), but a process that was
        taken over should stop at once."""
        if self.owner is None:
            return
        owner = MonitorCheckpoint.objects.filter(key=self.key).values_list("owner", flat=True)
        if owner.first() != self.owner:
            raise LostLease(f"{self.key} is read by another monitor now")

    def _lock(self) -> MonitorCheckpoint:
        checkpoint = checkpoints.lock(self.key)
        if self.owner is not None and checkpoint.owner != self.owner:
            raise LostLease(f"{self.key} is read by {checkpoint.owner or 'nobody'} now")
        return checkpoint

    def _set_aside(self, attempt: StageAttempt, exc: Exception) -> None:
        """Leave the stage for staff, with the reason and the position its saved state
        reflects (their retry applies the events after it)."""
        decisions.set_aside(attempt, exc)
        self._check_lease()
        with transaction.atomic():
            StageAttempt.objects.filter(pk=attempt.pk).update(
                monitor_error=f"{type(exc).__name__}: {exc}"[:500],
                set_aside_after=max(self.saved, checkpoints.fed(attempt)),
            )
