"""The alerts a firm switches on per challenge (`ChallengeAlerts`, docs/notifications.md),
raised by the monitor from its own figures.

- Loss alerts (daily loss, max loss) ride along with each stage's evaluator in the feed's
  watcher (`StageWatch`, a `rules.watch.LossWatch`): each snapshot read is looked at in memory
  (`run`, the watcher's `_run` with one look more), nothing is read from the database for it.
  When one fires or re-arms, the stage's alert state is written at once with the feed position
  of the snapshot (`send`, the way a pause is written): a restart reads the events after its
  checkpoint again and looks at none up to that position (`StageWatch.through`), so it never
  fires twice.
- Clock alerts (the trading period ends in N days, no trade for N days) are looked at with the
  watcher's closing of days, at most every `CLOCK_LOOKED_EVERY` seconds (`look_at_clock`);
  each is sent once per stage and crossing (the `StageAlert` row's unique `ref`).
- A stage that fails or passes in the batch that raised an alert sends no alert: its verdict's
  notification says more.
- The settings are looked at again every `SETTINGS_LOOKED_EVERY` seconds (`refresh_settings`,
  one query of a small table), so that switching an alert on or off needs no restart.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction

from propdesk.challenges.models import ChallengeAlerts, StageAlert, StageAttempt
from propdesk.challenges.monitoring.monitor import Seen, _run
from propdesk.core.money import MINOR_UNITS, quantum
from propdesk.notifications import events
from propdesk.rules.evaluator import Evaluator
from propdesk.rules.model import IN_PROGRESS, Equity, Outcome
from propdesk.rules.watch import DAILY, MAX, LossWatch

if TYPE_CHECKING:
    from propdesk.challenges.monitoring.watcher import Entry, FeedWatcher

logger = logging.getLogger(__name__)

SETTINGS_LOOKED_EVERY = 2.0  # seconds between two looks at the firms' alert settings
CLOCK_LOOKED_EVERY = 5.0  # seconds between two looks at the clock alerts of a feed's stages
PERIOD = "period_ending"
INACTIVITY = "inactivity"
EVENT_OF = {
    DAILY: "alert.daily_loss",
    MAX: "alert.max_loss",
    PERIOD: "alert.period_ending",
    INACTIVITY: "alert.inactivity",
}


@dataclass(frozen=True)
class Thresholds:
    """A challenge's alert settings as the monitor holds them (None: off)."""

    daily: int | None = None
    max: int | None = None
    period: int | None = None
    inactivity: int | None = None

    @classmethod
    def of(cls, row: ChallengeAlerts) -> Thresholds:
        return cls(
            row.daily_loss_percent, row.max_loss_percent, row.period_end_days, row.inactivity_days
        )


OFF = Thresholds()


class StageWatch:
    """One stage's alerts as its watcher entry holds them."""

    __slots__ = ("changed_at", "done", "loss", "pending", "thresholds", "through")

    def __init__(self, thresholds: Thresholds, attempt: StageAttempt, key: str) -> None:
        self.thresholds = thresholds
        self.loss: LossWatch | None = None
        if thresholds.daily is not None or thresholds.max is not None:
            self.loss = LossWatch(
                None if thresholds.daily is None else Decimal(thresholds.daily),
                None if thresholds.max is None else Decimal(thresholds.max),
            )
        saved = attempt.alert_state if isinstance(attempt.alert_state, dict) else {}
        if self.loss is not None:
            self.loss.restore(saved)
        # The snapshots up to here were looked at already (before a restart): not again.
        through = saved.get("through") if saved.get("feed") == key else None
        self.through: int = through if isinstance(through, int) else 0
        self.pending: list[dict[str, Any]] = []  # fired, not sent yet
        self.changed_at: int | None = None  # position of the last change not written yet
        self.done: set[str] = set()  # the clock alerts sent (or found sent)


def watch_for(watcher: FeedWatcher, attempt: StageAttempt) -> StageWatch | None:
    """The stage's alerts as its challenge's settings say, None when all are off."""
    thresholds = watcher.alert_settings.get(getattr(attempt, "challenge_of", None) or 0, OFF)
    if thresholds == OFF:
        return None
    return StageWatch(thresholds, attempt, watcher.key)


def refresh_settings(watcher: FeedWatcher, *, force: bool = False) -> None:
    """Look again at the alert settings (at most every `SETTINGS_LOOKED_EVERY` seconds): the
    stages of a challenge whose settings changed get their alerts as they are now."""
    now = time.monotonic()
    if not force and now - watcher.alerts_looked < SETTINGS_LOOKED_EVERY:
        return
    watcher.alerts_looked = now
    fresh = {row.challenge_id: Thresholds.of(row) for row in ChallengeAlerts.objects.all()}
    fresh = {k: v for k, v in fresh.items() if v != OFF}
    if fresh == watcher.alert_settings:
        return
    watcher.alert_settings = fresh
    for entry in watcher.entries.values():
        wanted = fresh.get(getattr(entry.attempt, "challenge_of", None) or 0, OFF)
        held = entry.alerts.thresholds if entry.alerts is not None else OFF
        if wanted != held:
            entry.alerts = watch_for(watcher, entry.attempt)


def run(
    evaluator: Evaluator, events_seen: list[Seen], watch: StageWatch
) -> tuple[list[Outcome], list[Equity], int | None]:
    """`monitor._run` with the loss alerts looked at after each snapshot taken in progress
    (past `watch.through`); what they fired waits in `watch.pending` for `send`."""
    loss = watch.loss
    if loss is None:
        return _run(evaluator, events_seen)

    def look(position: int, evaluator: Evaluator) -> None:
        if position > watch.through and evaluator.status is IN_PROGRESS:
            fired, changed = loss.look(evaluator)
            if changed:
                watch.changed_at = position
                for one in fired:
                    one["position"] = position
                    watch.pending.append(one)

    return _run(evaluator, events_seen, look)


def send(watcher: FeedWatcher, entries: list[Entry]) -> None:
    """The loss alerts the batch fired (and the re-arms), written at once: each stage's alert
    state with the position of its snapshot, and the notifications (sent after the commit).
    A stage no longer running (its verdict came in the same batch, or staff ended it) sends
    nothing."""
    watcher._check_lease()
    with transaction.atomic():
        for entry in sorted(entries, key=lambda e: e.attempt.pk):
            watch = entry.alerts
            if watch is None or watch.loss is None or watch.changed_at is None:
                continue
            attempt = entry.attempt
            held = watcher.entries.get((attempt.server_id, attempt.login)) is entry
            state = {**watch.loss.state(), "through": watch.changed_at, "feed": watcher.key}
            written = held and (
                StageAttempt.objects.filter(
                    pk=attempt.pk,
                    revision=attempt.revision,
                    status=StageAttempt.Status.IN_PROGRESS,
                    monitor_error="",
                    held_after=None,
                ).update(alert_state=state)
                > 0
            )
            if written:
                attempt.alert_state = state
                for fired in watch.pending:
                    if fired["kind"] == DAILY and entry.evaluator._paused_at is not None:
                        continue  # the batch paused the stage: the pause's notice says more
                    ref = str(fired["position"]) if fired["kind"] == MAX else str(fired["day"])
                    try:
                        with transaction.atomic():
                            _raise(attempt, fired["kind"], int(fired["threshold"]), ref, fired)
                    except IntegrityError:  # sent already: never twice, and the feed reads on
                        logger.warning("alert %s of stage %s sent already", ref, attempt.pk)
                    except Exception:  # an alert never holds up the monitor
                        logger.exception("alert %s of stage %s not sent", ref, attempt.pk)
            watch.through = max(watch.through, watch.changed_at)
            watch.pending, watch.changed_at = [], None


def look_at_clock(watcher: FeedWatcher, moment: datetime, *, force: bool = False) -> int:
    """The clock alerts of the feed's stages due by `moment` (at most every
    `CLOCK_LOOKED_EVERY` seconds); returns how many were sent."""
    now = time.monotonic()
    if not force and now - watcher.clock_looked < CLOCK_LOOKED_EVERY:
        return 0
    watcher.clock_looked = now
    due: list[tuple[Entry, str, int, str, dict[str, Any]]] = []
    days: dict[tuple[Any, Any], date] = {}  # today, by calendar (most stages share one)
    for entry in watcher.entries.values():
        watch = entry.alerts
        if watch is None or watch.thresholds.period is watch.thresholds.inactivity is None:
            continue
        ev = entry.evaluator
        if ev.status is not IN_PROGRESS or ev._start_day is None or ev._paused_at is not None:
            continue  # not begun, concluded, or paused to the day's end (looked at after it)
        closing = ev.next_due
        if closing is not None and closing <= moment:
            continue  # a day end not closed yet (a round closes so many): its closing first
        calendar = (ev.rules.zone, ev.rules.reset_time)
        today = days.get(calendar)
        if today is None:
            today = days[calendar] = ev._cal.day_of(moment)
        due += _clock_due(entry, watch, today)
    if not due:
        return 0
    watcher._check_lease()
    sent = 0
    for entry, kind, threshold, ref, figures in due:
        attempt = entry.attempt
        try:
            with transaction.atomic():
                running = StageAttempt.objects.filter(
                    pk=attempt.pk,
                    status=StageAttempt.Status.IN_PROGRESS,
                    paused=False,
                    monitor_error="",
                    held_after=None,
                ).exists()
                if running:
                    _raise(attempt, kind, threshold, ref, figures)
                    sent += 1
        except IntegrityError:  # sent before (another process, or before a restart)
            pass
        except Exception:  # an alert never holds up the monitor
            logger.exception("%s alert of stage %s not sent", kind, attempt.pk)
        entry.alerts.done.add(f"{kind}:{threshold}:{ref}")  # type: ignore[union-attr]
    return sent


def _clock_due(
    entry: Entry, watch: StageWatch, today: date
) -> list[tuple[Entry, str, int, str, dict[str, Any]]]:
    ev = entry.evaluator
    assert ev._start_day is not None
    found = []
    period = watch.thresholds.period
    if period is not None and ev._last_day is not None:
        left = (ev._last_day - today).days + 1
        ref = ev._last_day.isoformat()
        if 0 < left <= period and f"{PERIOD}:{period}:{ref}" not in watch.done:
            figures = {"days": left, "ends_on": ev._last_day}
            found.append((entry, PERIOD, period, ref, figures))
    idle = watch.thresholds.inactivity
    if idle is not None:
        since = ev._last_active_day or ev._start_day
        quiet = (today - since).days if ev._last_active_day else (today - since).days + 1
        ref = since.isoformat() if ev._last_active_day else f"start:{since.isoformat()}"
        if quiet >= idle and f"{INACTIVITY}:{idle}:{ref}" not in watch.done:
            found.append((entry, INACTIVITY, idle, ref[:40], {"days": quiet}))
    return found


def _raise(attempt: StageAttempt, kind: str, threshold: int, ref: str, figures: dict) -> None:
    """The alert's row (unique per crossing: raises IntegrityError when it was sent) and its
    notification, in the caller's transaction."""
    StageAlert.objects.create(attempt_id=attempt.pk, kind=kind, threshold=threshold, ref=ref)
    stage = (
        StageAttempt.objects.select_related(
            "participation__client__user", "participation__challenge", "participation__version"
        )
        .only(
            "id",
            "stage",
            "login",
            "participation__currency",
            "participation__challenge__name",
            "participation__version__definition",
            "participation__client__user",
        )
        .get(pk=attempt.pk)
    )
    participation = stage.participation
    data: dict[str, Any] = {"challenge": participation.challenge.name, "login": stage.login}
    if kind in (DAILY, MAX):
        currency = participation.currency
        data |= {
            "used": figures["used"],
            "threshold": figures["threshold"],
            "loss": in_currency(figures["loss"], currency, ROUND_CEILING),
            "limit": in_currency(figures["limit"], currency, ROUND_FLOOR),
            "floor": in_currency(figures["floor"], currency, ROUND_CEILING),
            "currency": currency,
        }
    elif kind == PERIOD:
        data |= {
            "stage": participation.version.spec.stages[stage.stage].name,
            "days": figures["days"],
            "ends_on": figures["ends_on"],
        }
    else:
        data |= {"days": figures["days"]}
    events.emit(EVENT_OF[kind], user=participation.client.user, data=data)


def in_currency(amount: Decimal, currency: str, rounding: str) -> Decimal:
    """An alert's amount in the currency's minor unit, rounded the careful way for the trader
    (the loss and the floor up, the allowed loss down: never a margin that is not there)."""
    if currency not in MINOR_UNITS or not amount.is_finite():
        return amount
    return amount.quantize(quantum(currency), rounding=rounding)
