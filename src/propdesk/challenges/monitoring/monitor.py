"""The real-time monitor: reads each trading server's account events from the account-event log
(platforms.eventlog) from a persisted cursor, feeds every running stage's evaluator, and acts on
a verdict at once. Each server's ingestor fills the log: the monitor has it pull just before it
reads (so a platform's events reach the rules within the same round), and reads only the log.

One batch is one transaction: the events' effects (accounts disabled, stages failed or passed,
the next stage opened or requested), every evaluator's state and the cursor move together, so a
restart resumes exactly where the last commit left off and neither misses nor repeats a verdict.
Days end on the clock (`close_days`), so day-end rules need no events. One monitor runs per
install: batches wait on each server's cursor, and closing days is done between them.

What a verdict means for the participation (a breach fails it, a pass opens or requests the
next stage, ...) is participation.lifecycle's: the monitor only asks it to act.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from propdesk.challenges.models import (
    CurvePoint,
    MonitorCursor,
    StageAttempt,
)
from propdesk.challenges.monitoring import curve, idle, progress
from propdesk.challenges.participation import lifecycle
from propdesk.challenges.participation.lifecycle import Opening
from propdesk.platforms import adapters, eventlog, outbox
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


# What a batch reads of a running stage (not the participation's whole definition: the rules
# come from a cache, since a published version never changes).
_ROW = ("id", "participation_id", "stage", "kind", "login", "server_id", "status")
_ROW_STATE = ("evaluator_state", "curve_open", "paused", "day_end")


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


def read(server: TradingServer, *, limit: int = BATCH) -> int:
    """Read one batch of the server's events from the log and act on them (`read_batch`), then
    carry out the access changes it decided (platform commands, after its commit); returns how
    many events were read."""
    since = outbox.mark()
    count = read_batch(server, limit=limit)
    carry_out_since(since)
    return count


def carry_out_since(since: int) -> None:
    """The access changes and closings written after the mark `since`, carried out now: a
    breach reaches the platform without waiting for the worker (which retries any fault)."""
    try:
        outbox.run_due(since=since, kinds=outbox.QUICK)
    except Exception:  # the worker's sweep carries them out in its turn
        logger.exception("monitor: carrying out platform commands")


def read_batch(server: TradingServer, *, limit: int = BATCH) -> int:
    """Read one batch of the server's events from the log and act on them; returns how many
    were read.

    The evaluators are pure: a stage that only took its snapshots is written back with every
    other such stage in one statement; only a stage whose rules acted (a verdict, a pause) runs
    its effects in a savepoint of its own, so that its fault stays its own."""
    seen = MonitorCursor.objects.filter(server=server).values_list("position", flat=True).first()
    if not eventlog.has_events(server, after=seen or 0):
        return 0  # nothing new: no write transaction (on SQLite that would take the lock)
    with transaction.atomic():
        cursor, _ = MonitorCursor.objects.select_for_update().get_or_create(server=server)
        events = eventlog.events(server, after=cursor.position, limit=limit)
        if not events:
            return 0
        by_login: dict[str, list[Seen]] = defaultdict(list)
        for event in events:
            by_login[event.login].append((event.cursor, event.payload))
        # Not locked: a quiet stage's write below re-checks that it is still running, and a
        # stage whose rules acted is locked before it acts. Staff reinstating or retrying a
        # stage wait on the cursor; one advancing or cancelling one is seen by those checks.
        attempts = (
            StageAttempt.objects.filter(
                server=server,
                login__in=list(by_login),
                status=StageAttempt.Status.IN_PROGRESS,
                monitor_error="",
                held_after__isnull=True,
            )
            .annotate(version_id=F("participation__version_id"))
            .only(*_ROW, *_ROW_STATE)
        )
        openings: list[Opening] = []
        quiet: list[StageAttempt] = []
        points: list[CurvePoint] = []
        known: RulesCache = {}
        for attempt in attempts:
            try:
                evaluator, outcomes, snaps, last = _run(attempt, by_login[attempt.login], known)
                closed = curve.take(attempt, snaps)
            except Exception as exc:  # the saved state, the rules or the curve cannot be read
                _set_aside(attempt, exc, after=cursor.position)
                continue
            if not outcomes:
                attempt.evaluator_state = evaluator.state()
                attempt.day_end = evaluator.day_end
                quiet.append(attempt)
                points += closed
                continue
            opened = guarded(  # its curve too: a stage undone by its savepoint keeps nothing
                attempt,
                lambda a=attempt, e=evaluator, o=outcomes, n=last, c=closed: _conclude_batch(
                    a, e, o, n, closed=c
                ),
                after=cursor.position,
            )
            openings += opened or []  # nor opens anything
        _write_states(quiet)
        CurvePoint.objects.bulk_create(points)
        _open(openings)
        cursor.position = events[-1].cursor
        cursor.save(update_fields=["position"])
    return len(events)


# A quiet stage's state is written only while it runs: staff may have ended it meanwhile.
STILL_RUNNING = "a.status = 'in_progress' AND a.monitor_error = '' AND a.held_after IS NULL"


def _write_states(attempts: list[StageAttempt]) -> None:
    """Every quiet stage's state, curve bucket and day end, in one statement (PostgreSQL: the
    rows as one JSON parameter) or one prepared statement run for each (SQLite): the batch's
    largest cost otherwise."""
    if not attempts:
        return
    table = StageAttempt._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            given = [
                {
                    "id": a.pk,
                    "state": a.evaluator_state,
                    "bucket": a.curve_open,
                    "day_end": None if a.day_end is None else a.day_end.isoformat(),
                }
                for a in attempts
            ]
            cursor.execute(
                f"UPDATE {table} AS a SET evaluator_state = v.state, curve_open = v.bucket, "  # noqa: S608  (our own table's name)
                "day_end = v.day_end FROM jsonb_to_recordset(%s::jsonb) "
                "AS v(id bigint, state jsonb, bucket jsonb, day_end timestamptz) "
                f"WHERE a.id = v.id AND {STILL_RUNNING}",
                [json.dumps(given)],
            )
            return
        day_end = StageAttempt._meta.get_field("day_end")
        cursor.executemany(
            f"UPDATE {table} AS a SET evaluator_state = %s, curve_open = %s, day_end = %s "  # noqa: S608
            f"WHERE a.id = %s AND {STILL_RUNNING}",
            [
                (
                    json.dumps(a.evaluator_state),
                    None if a.curve_open is None else json.dumps(a.curve_open),
                    day_end.get_db_prep_value(a.day_end, connection),
                    a.pk,
                )
                for a in attempts
            ],
        )


Seen = tuple[int, dict[str, Any]]  # an event's position in the log and its payload


def _run(
    attempt: StageAttempt, events: list[Seen], known: RulesCache | None = None
) -> tuple[Evaluator, list[Outcome], list[Equity], int | None]:
    """Feed the stage's evaluator (pure: nothing is written); the outcomes it gave, in order,
    up to a verdict, the snapshots for the curve, and the position of the last event read."""
    evaluator = _evaluator(attempt, known)
    outcomes: list[Outcome] = []
    snaps: list[Equity] = []
    last = None
    for position, payload in events:
        last = position
        try:
            event = parse_event(payload)
            given = evaluator.feed(event)
        except InputError as exc:  # the platform sent what the rules cannot read
            logger.warning("attempt %s: event skipped: %s", attempt.pk, exc)
            continue
        if isinstance(event, Equity):
            snaps.append(event)
        outcomes += given
        if evaluator.status != IN_PROGRESS:
            break
    return evaluator, outcomes, snaps, last


def _conclude_batch(
    attempt: StageAttempt,
    evaluator: Evaluator,
    outcomes: list[Outcome],
    last: int | None,
    *,
    closed: list[CurvePoint] | None = None,
) -> list[Opening]:
    """A stage whose rules acted: the effects, its state, and where in the stream a verdict
    fell (a reinstatement reads on from there). Returns the next stage to open, if any. A
    stage that staff ended meanwhile (advanced, cancelled) is left as they left it."""
    openings: list[Opening] = []
    still = StageAttempt.objects.select_for_update(of=("self",)).filter(
        pk=attempt.pk, status=StageAttempt.Status.IN_PROGRESS, monitor_error="", held_after=None
    )
    if not still.exists():
        return openings
    CurvePoint.objects.bulk_create(closed or [], ignore_conflicts=True)
    lifecycle.act(attempt, evaluator, outcomes, openings)
    if attempt.status != StageAttempt.Status.IN_PROGRESS:
        attempt.concluded_after = last
    _keep(attempt, evaluator)
    return openings


def _set_aside(attempt: StageAttempt, exc: Exception, *, after: int) -> None:
    logger.error("attempt %s set aside: %s", attempt.pk, exc, exc_info=exc)
    StageAttempt.objects.filter(pk=attempt.pk).update(
        monitor_error=f"{type(exc).__name__}: {exc}"[:500], set_aside_after=after
    )


RulesCache = dict[tuple[int, int, str], Rules]


def _evaluator(attempt: StageAttempt, known: RulesCache | None = None) -> Evaluator:
    """The stage's evaluator from its saved state; `known` keeps the rules a batch has parsed
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
    """One attempt's fault stays its own (a savepoint): it is set aside with the reason for
    staff to see (and the log position `after` which its events went unapplied, for a
    retry), and the monitor goes on with every other stage. Returns what `work` did (None
    after a fault)."""
    try:
        with transaction.atomic():
            return work()
    except Exception as exc:
        _set_aside(attempt, exc, after=after)
        return None


def catch_up(attempt: StageAttempt, after: int | None) -> int:
    """Feed a stage the events of its account the monitor did not apply to it, those after
    log position `after` up to the monitor's cursor (none when `after` is None), with their
    effects; returns how many. Call it in a transaction, with the server's cursor locked first
    (`lock_cursor`), then the stage."""
    cursor = lock_cursor(attempt.server_id)
    missed: list[Seen] = []
    start = cursor.position if after is None else after
    while start < cursor.position:
        page = eventlog.events(attempt.server_id, after=start, limit=BATCH, login=attempt.login)
        missed += [(e.cursor, e.payload) for e in page if e.cursor <= cursor.position]
        if not page or page[-1].cursor >= cursor.position:
            break
        start = page[-1].cursor
    evaluator, outcomes, snaps, last = _run(attempt, missed)
    closed = curve.take(attempt, snaps)
    _open(_conclude_batch(attempt, evaluator, outcomes, last, closed=closed))
    return len(missed)


def lock_cursor(server_id: int) -> MonitorCursor:
    """The server's monitor cursor, locked: the monitor's batches wait (they take it first)."""
    cursor, _ = MonitorCursor.objects.select_for_update().get_or_create(server_id=server_id)
    return cursor


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
    """Close the days that ended by `now` for the running stages whose day is due (each stage
    keeps when its day ends), at most `limit` of them, of one `server` or all; returns the
    verdicts and pauses this caused. Call it only when the events up to `now` have been read
    (run() does, server by server)."""
    moment = now or timezone.now()
    acted = 0
    since = outbox.mark()
    stages = StageAttempt.objects.filter(
        status=StageAttempt.Status.IN_PROGRESS,
        day_end__lte=moment,
        monitor_error="",
        held_after__isnull=True,
    )
    if server is not None:
        stages = stages.filter(server=server)
    due = stages.order_by("day_end", "id").values_list("id", flat=True)
    for attempt_id in due[:limit] if limit is not None else due:
        with transaction.atomic():
            attempt = (
                StageAttempt.objects.select_for_update(of=("self",))
                .select_related("participation__version", "server")
                .filter(pk=attempt_id, status=StageAttempt.Status.IN_PROGRESS, held_after=None)
                .first()
            )
            if attempt is None:
                continue
            acted += _close_guarded(attempt, moment)
    if acted:
        carry_out_since(since)
    return acted


def _close_guarded(attempt: StageAttempt, moment: datetime) -> int:
    seen = MonitorCursor.objects.filter(server=attempt.server_id).values_list("position", flat=True)
    at = seen.first() or 0
    done = guarded(attempt, lambda: _close_day(attempt, moment, at), after=at)
    if done is None:
        return 0
    acted, openings = done
    _open(openings)
    return acted


def _close_day(attempt: StageAttempt, moment: datetime, at: int) -> tuple[int, list[Opening]]:
    evaluator = _evaluator(attempt)
    before = attempt.evaluator_state
    try:
        outcomes = evaluator.close_until(moment)
    except InputError:
        return 0, []  # the clock is behind the account's last event: nothing to close
    if outcomes:
        return len(outcomes), _conclude_batch(attempt, evaluator, list(outcomes), at)
    if evaluator.state() != before:
        _keep(attempt, evaluator)
    return 0, []


GRACE_SECONDS = 5.0  # snapshots are stamped before they commit: days close this much behind


DAYS_AT_ONCE = 100  # stages whose day is closed between two reads of the log


def run(*, every: float = 0.01, stop: Any = None, clock: Any = timezone.now) -> None:
    """`propdesk monitor`: each round, every enabled server's ingestor takes in its platform's
    new events and the monitor reads them from the log; between reads, close the days that
    ended (a few stages at a time, so that a reset at midnight never holds up a breach), each
    server's up to the last moment its events were read to their end (a little behind it). A
    failing server (its ingestor, or reading its events) is logged and tried again, never the
    end of the monitor, and holds up only its own days. One monitor runs at a time (on
    PostgreSQL a second one stops at once).

    While events come it reads on without a pause (`every` after a round that found none).
    Idle, it only looks whether events came (monitoring.idle), and waits between looks: on
    PostgreSQL until the sandbox's NOTIFY says events were committed (at most 2 s); on SQLite
    backing off to at most 0.5 s. Never past the next day end. So an idle demo's monitor costs
    under 1% of a core (benchmarks/monitor_idle.py; 16-20% when it polled every 10 ms), and
    a breach after a long quiet is read at once on PostgreSQL, within 0.5 s on SQLite."""
    _only_monitor()
    drained_at: dict[int, datetime] = {}
    backoff = idle.Backoff(every=every)
    ingestors = idle.Ingestors()
    try:
        while stop is None or not stop.is_set():
            count = 0
            closing: list[int] = []  # the servers whose days this round closes
            servers = list(TradingServer.objects.filter(enabled=True))
            for server in servers:
                started = clock()
                pulled = ingestors.pull(server)
                if pulled is None:
                    continue  # its ingestor failed (logged): its events and days wait
                try:
                    batch = read(server)
                except Exception:
                    logger.exception("monitor: server %s", server.name)
                    idle.sleep(1.0, stop)
                    continue
                count += batch
                # Read to its end as it was at `started`: a pull takes in all that is new, or
                # more than a batch (the sandbox's 5,000), so a batch short of full ends it.
                if batch < BATCH:
                    drained_at[server.pk] = started
                if server.pk in drained_at:
                    closing.append(server.pk)
                    try:
                        close_days(
                            drained_at[server.pk] - timedelta(seconds=GRACE_SECONDS),
                            limit=DAYS_AT_ONCE,
                            server=server,
                        )
                    except Exception:
                        logger.exception("monitor: closing days of server %s", server.name)
            backoff.read(count)
            if count:
                ingestors.drain()
            else:
                due_in = _next_day_in(clock(), servers=closing)
                idle.until_news(
                    servers, backoff=backoff, ingestors=ingestors, due_in=due_in, stop=stop
                )
    finally:
        ingestors.close()


def _next_day_in(now: datetime, *, servers: list[int]) -> float | None:
    """Seconds until the next running stage's day is due to close (its day end, plus the grace
    with which days are closed), of the `servers` whose days the monitor closes (a disabled or
    failing server's overdue stage would otherwise cut every wait short); None when no running
    stage keeps a day (or on a fault: the idle monitor's whole rounds close it then)."""
    try:
        first = (
            StageAttempt.objects.filter(
                server_id__in=servers,
                status=StageAttempt.Status.IN_PROGRESS,
                day_end__isnull=False,
                monitor_error="",
                held_after__isnull=True,
            )
            .order_by("day_end")
            .values_list("day_end", flat=True)
            .first()
        )
    except Exception:
        logger.exception("monitor: looking for the next day end")
        return None
    if first is None:
        return None
    return (first - now).total_seconds() + GRACE_SECONDS


MONITOR_LOCK = 0x70726F70  # an advisory lock's key: "prop"


def _only_monitor() -> None:
    """Refuse to run beside another monitor: two would write the same stages' states."""
    if connection.vendor != "postgresql":
        return  # SQLite serialises writers; the demo runs one monitor
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [MONITOR_LOCK])
        (alone,) = cursor.fetchone()
    if not alone:
        raise RuntimeError("Another propdesk monitor is running on this database.")


def _keep(attempt: StageAttempt, evaluator: Evaluator) -> None:
    attempt.evaluator_state = evaluator.state()
    attempt.day_end = evaluator.day_end
    attempt.save()
