"""The real-time monitor's parts: what it does with a stage's events (`_run`: feed its
evaluator; `_conclude`: act on what its rules decided, through participation.lifecycle), how
stages' states are written (`write_states`), what staff's interventions use (`catch_up`,
`lock_cursor`, `guarded`), and the one-off reads the tests and the demo use (`process`, `read`,
`close_days`).

The running monitor is monitoring.runner: each feed of the account-event log (platforms.feeds)
is read by a `watcher.FeedWatcher` that keeps its running stages' evaluators in memory and
checkpoints their states with the feed's position; see there for why nothing is missed or
applied twice across a restart or a move of the feed to another monitor process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from django.db import connection, connections, transaction
from django.utils import timezone

from propdesk.challenges.models import CurvePoint, MonitorCheckpoint, StageAttempt
from propdesk.challenges.monitoring import checkpoints, curve, decisions, progress
from propdesk.challenges.participation import lifecycle
from propdesk.challenges.participation.lifecycle import Opening
from propdesk.platforms import adapters, feeds, outbox
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import Ingestor
from propdesk.rules.errors import InputError
from propdesk.rules.evaluator import Evaluator
from propdesk.rules.model import (
    IN_PROGRESS,
    Equity,
    Outcome,
    Rules,
)
from propdesk.rules.parse import parse_event

logger = logging.getLogger(__name__)

BATCH = 2000


def process(server: TradingServer, *, limit: int = BATCH, ingestor: Ingestor | None = None) -> int:
    """Take in the server's new events (its `ingestor` pulls; without one, a fresh one made and
    closed here), then read one batch of its log and act on it (`read`); returns how many
    events were read."""
    taker = ingestor or adapters.platform(server).ingestor()
    try:
        taker.pull()
    finally:
        if ingestor is None:
            taker.close()
    return read(server, limit=limit)


def read(
    server: TradingServer, *, limit: int = BATCH, carry: Callable[[int], object] | None = None
) -> int:
    """One read of the server's events, on its own (no lease; the tests' and the demo's way):
    the running stages of its feed (with NATS, of every partition) are loaded, one batch is
    read and applied, and a checkpoint is written. Then the access changes it decided are
    carried out (platform commands, after the commit: here, or handed to `carry`); returns how
    many events were read."""
    from propdesk.challenges.monitoring.watcher import FeedWatcher

    since = outbox.mark()
    if feeds.using_nats():  # the server's accounts are in every partition
        keys = checkpoints.all_feed_keys([server.pk])
    else:
        keys = [feeds.LogFeed(server).key]
    count = 0
    for key in keys:
        watcher = FeedWatcher(key)
        watcher.load()
        read = watcher.step(limit=limit)
        if read:
            watcher.checkpoint()
        watcher.feed.close()
        count += read
    (carry or carry_out_since)(since)
    return count


def carry_out_since(since: int) -> None:
    """The access changes and closings written after the mark `since`, carried out now: a
    breach reaches the platform without waiting for the worker (which retries any fault)."""
    try:
        outbox.run_due(since=since, kinds=outbox.QUICK)
    except Exception:  # the worker's sweep carries them out in its turn
        logger.exception("monitor: carrying out platform commands")


class Carrier:
    """`run`'s way of carrying out a batch's access changes: on a thread of its own (its own
    database connection), one batch's after another, so that a platform that answers slowly
    (a timeout, its request budget spent) holds up neither the reading of events nor the other
    feeds. Its database connection is kept from batch to batch (a new one each time cost
    more than the carrying out)."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-commands")

    def __call__(self, since: int) -> None:
        if outbox.mark() > since:  # the batch wrote commands (most write none)
            self.pool.submit(carry_out_since, since)

    def close(self) -> None:
        self.pool.submit(connections.close_all)  # the thread's own connection, kept till now
        self.pool.shutdown(wait=True)


# A stage's state is written only while it runs: staff may have ended it meanwhile; and only as
# the monitor loaded it: staff may have changed it (`revision`).
STILL_RUNNING = "a.status = 'in_progress' AND a.monitor_error = '' AND a.held_after IS NULL"
# ... and never with a state older than the one saved (a verdict's or a pause's, further on).
NOT_BEHIND = (
    "(a.fed_through IS NULL OR v.fed IS NULL OR a.fed_feed <> v.feed OR a.fed_through <= v.fed)"
)
_NOT_BEHIND_SQLITE = (
    "(a.fed_through IS NULL OR %s IS NULL OR a.fed_feed <> %s OR a.fed_through <= %s)"
)


def write_states(attempts: list[StageAttempt]) -> set[int]:
    """The stages' states, curve buckets, day ends, due times (`next_due`) and `fed_through`,
    where each still runs as loaded (its `revision`) and no later state was saved, in one
    statement (PostgreSQL: the rows as one JSON parameter, once they are locked by id) or one
    prepared statement a stage (SQLite); call it in a transaction; returns the ids written."""
    if not attempts:
        return set()
    table = StageAttempt._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            given = [
                {
                    "id": a.pk,
                    "revision": a.revision,
                    "state": a.evaluator_state,
                    "bucket": a.curve_open,
                    "day_end": None if a.day_end is None else a.day_end.isoformat(),
                    "next_due": None if a.next_due is None else a.next_due.isoformat(),
                    "fed": a.fed_through,
                    "feed": a.fed_feed,
                }
                for a in attempts
            ]
            # The rows locked by id first: the order a suspension takes a client's stages in
            # (suspension._lock_all); the UPDATE alone takes them in its plan's order, and two
            # stages of one client taken the other way round deadlock with it.
            cursor.execute(
                f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",  # noqa: S608
                [sorted(a.pk for a in attempts)],
            )
            cursor.execute(
                f"UPDATE {table} AS a SET evaluator_state = v.state, curve_open = v.bucket, "  # noqa: S608  (our own table's name)
                "day_end = v.day_end, next_due = v.next_due, fed_through = v.fed, "
                "fed_feed = v.feed FROM jsonb_to_recordset(%s::jsonb) "
                "AS v(id bigint, revision integer, state jsonb, bucket jsonb, "
                "day_end timestamptz, next_due timestamptz, fed bigint, feed text) "
                f"WHERE a.id = v.id AND a.revision = v.revision AND {STILL_RUNNING} "
                f"AND {NOT_BEHIND} RETURNING a.id",
                [json.dumps(given)],
            )
            return {row[0] for row in cursor.fetchall()}
        moment = StageAttempt._meta.get_field("day_end")  # a DateTimeField, as `next_due`
        written: set[int] = set()
        for a in attempts:
            cursor.execute(
                f"UPDATE {table} AS a SET evaluator_state = %s, curve_open = %s, day_end = %s, "  # noqa: S608
                f"next_due = %s, fed_through = %s, fed_feed = %s "
                f"WHERE a.id = %s AND a.revision = %s "
                f"AND {STILL_RUNNING} AND {_NOT_BEHIND_SQLITE}",
                [
                    json.dumps(a.evaluator_state),
                    None if a.curve_open is None else json.dumps(a.curve_open),
                    moment.get_db_prep_value(a.day_end, connection),
                    moment.get_db_prep_value(a.next_due, connection),
                    a.fed_through,
                    a.fed_feed,
                    a.pk,
                    a.revision,
                    a.fed_through,
                    a.fed_feed,
                    a.fed_through,
                ],
            )
            if cursor.rowcount:
                written.add(a.pk)
        return written


Seen = tuple[int, dict[str, Any]]  # an event's position in the log and its payload


def _run(
    evaluator: Evaluator,
    events: list[Seen],
    on_snapshot: Callable[[int, Evaluator], None] | None = None,
) -> tuple[list[Outcome], list[Equity], int | None]:
    """Feed a stage's evaluator (pure: nothing is written); the outcomes it gave, in order,
    up to a verdict, the snapshots for the curve, and the position of the last event read.
    `on_snapshot` looks at the evaluator after each equity snapshot (the alerts do)."""
    outcomes: list[Outcome] = []
    snaps: list[Equity] = []
    last = None
    for position, payload in events:
        last = position
        try:
            event = parse_event(payload)
            given = evaluator.feed(event)
        except InputError as exc:  # the platform sent what the rules cannot read
            logger.warning("event %s skipped: %s", position, exc)
            continue
        if isinstance(event, Equity):
            snaps.append(event)
            if on_snapshot is not None:
                on_snapshot(position, evaluator)
        outcomes += given
        if evaluator.status != IN_PROGRESS:
            break
    return outcomes, snaps, last


def _conclude(
    attempt: StageAttempt,
    evaluator: Evaluator,
    outcomes: list[Outcome],
    last: int | None,
    *,
    closed: list[CurvePoint] | None = None,
    after_event: bool = False,
) -> list[Opening] | None:
    """A stage whose rules acted: the effects, its state (reflecting the events up to `last`,
    its `fed_through`), and where in the feed a verdict fell (a reinstatement reads on from
    there). Returns the next stages to open, or None when staff ended or changed the stage
    meanwhile (it is left as they left it), or, `after_event` (the event at `last` made its
    rules act), when another monitor process saved its state at or past that event: two
    processes reading a feed for a moment (one stalled past its lease) act once."""
    openings: list[Opening] = []
    still = StageAttempt.objects.select_for_update(of=("self",)).filter(
        pk=attempt.pk,
        status=StageAttempt.Status.IN_PROGRESS,
        monitor_error="",
        held_after=None,
        revision=attempt.revision,
    )
    saved = still.values_list("fed_through", "fed_feed").first()
    if saved is None:
        return None
    fed, feed = saved
    if (
        after_event
        and last is not None
        and fed is not None
        and feed == checkpoints.feed_key(attempt)
        and fed >= last
    ):
        return None  # another monitor process (this feed's reader a moment ago) acted already
    CurvePoint.objects.bulk_create(closed or [], ignore_conflicts=True)
    lifecycle.act(attempt, evaluator, outcomes, openings)
    decisions.acted(attempt, outcomes)  # logged once committed
    if attempt.status != StageAttempt.Status.IN_PROGRESS:
        attempt.concluded_after = last
    if last is not None:
        checkpoints.set_fed(attempt, max(last, checkpoints.fed(attempt)))
    _keep(attempt, evaluator)
    return openings


RulesCache = dict[tuple[int, int, str], Rules]


def _evaluator(attempt: StageAttempt, known: RulesCache | None = None) -> Evaluator:
    """The stage's evaluator from its saved state; `known` keeps the rules already parsed
    (by version, stage and kind: a published version never changes)."""
    version_id = getattr(attempt, "version_id", None) or attempt.participation.version_id
    key = (version_id, attempt.stage, attempt.kind)
    rules = None if known is None else known.get(key)
    if rules is None:
        rules = progress.rules_for(attempt)
        if known is not None:
            known[key] = rules
    if attempt.evaluator_state is None:
        return Evaluator(rules)
    return Evaluator.from_state(rules, attempt.evaluator_state)


def guarded(attempt: StageAttempt, work: Any, *, after: int) -> Any:
    """One stage's fault stays its own (a savepoint): it is set aside with the reason for
    staff to see (and the feed position `after` which its events went unapplied, for a
    retry). Returns what `work` did (None after a fault)."""
    try:
        with transaction.atomic():
            return work()
    except Exception as exc:
        decisions.set_aside(attempt, exc)
        StageAttempt.objects.filter(pk=attempt.pk).update(
            monitor_error=f"{type(exc).__name__}: {exc}"[:500], set_aside_after=after
        )
        return None


def catch_up(attempt: StageAttempt, after: int | None) -> int:
    """Feed a stage the events of its account the monitor did not apply to it, those after
    feed position `after` up to the feed's checkpoint (none when `after` is None), with their
    effects; returns how many. Call it in a transaction, with the feed's checkpoint locked
    first (`lock_cursor`), then the stage. The monitor reading the feed is told
    (`checkpoints.changed`), and feeds the stage what it read after the checkpoint."""
    checkpoint = checkpoints.lock_for(attempt)
    start = checkpoint.position if after is None else after
    missed: list[Seen] = []
    if start < checkpoint.position and attempt.login:  # no login: no account, no event yet
        feed = feeds.feed_for(checkpoint.key)
        try:
            found = feed.account_events(
                attempt.server_id, attempt.login, after=start, upto=checkpoint.position
            )
        finally:
            feed.close()
        missed = [(e.position, e.payload) for e in found]
    evaluator = _evaluator(attempt)
    outcomes, snaps, last = _run(evaluator, missed)
    closed = curve.take(attempt, snaps)
    checkpoints.changed(attempt)
    # Its state reflects the events up to here now (the checkpoint's position, or further
    # when the monitor wrote the stage ahead of it).
    checkpoints.set_fed(attempt, max(start, checkpoint.position, checkpoints.fed(attempt)))
    opened = _conclude(attempt, evaluator, outcomes, last, closed=closed)
    _open(opened or [])
    return len(missed)


def lock_cursor(attempt: StageAttempt) -> MonitorCheckpoint:
    """The checkpoint of the feed the stage's account falls in, locked: the monitor's writes
    for that feed wait (they take it first)."""
    return checkpoints.lock_for(attempt)


def _open(openings: list[Opening]) -> None:
    """Next stages, opened after every account the batch disabled: an account row is never
    waited for while the stream's lock (taken by opening an account) is held."""
    for participation, index in openings:
        try:
            with transaction.atomic():
                lifecycle.open_stage(participation, index)
        except Exception as exc:  # e.g. the platform refused: staff see it on the passed stage
            logger.exception("participation %s: stage %s not opened", participation.pk, index)
            StageAttempt.objects.filter(participation=participation, stage=index - 1).update(
                monitor_error=f"The next stage could not be opened: {exc}"[:500]
            )


def close_days(
    now: datetime | None = None, *, limit: int | None = None, server: TradingServer | None = None
) -> int:
    """Close the days that ended and the weekend cutoffs that passed by `now` for the running
    stages that are due (`Evaluator.next_due`), at most `limit` of them a feed, of one
    `server`'s feed or all; returns the verdicts and pauses this caused. On its own (no
    lease): the tests' and the demo's way; a running monitor closes its feeds' days itself."""
    from propdesk.challenges.monitoring.watcher import FeedWatcher

    moment = now or timezone.now()
    since = outbox.mark()
    if server is not None and not feeds.using_nats():
        keys = [feeds.LogFeed(server).key]
    else:
        keys = checkpoints.enabled_feed_keys()
    acted = 0
    for key in keys:
        watcher = FeedWatcher(key)
        watcher.load()
        acted += watcher.close_days(moment, limit=limit)
        if any(e.dirty for e in watcher.entries.values()):
            watcher.checkpoint()
        watcher.feed.close()
    if acted:
        carry_out_since(since)
    return acted


def run(*, every: float = 0.01, stop: Any = None, clock: Any = timezone.now) -> None:
    """`propdesk monitor` (monitoring.runner)."""
    from propdesk.challenges.monitoring import runner

    runner.run(every=every, stop=stop, clock=clock)


def _keep(attempt: StageAttempt, evaluator: Evaluator) -> None:
    attempt.evaluator_state = evaluator.state()
    keep_due(attempt, evaluator)
    attempt.save()


def keep_due(attempt: StageAttempt, evaluator: Evaluator) -> None:
    """The stage's day end and the next instant the clock alone acts on it (`next_due`: the
    day end, or a weekend cutoff before it), as its evaluator has them, to be saved with its
    state."""
    attempt.day_end = evaluator.day_end
    attempt.next_due = evaluator.next_due
