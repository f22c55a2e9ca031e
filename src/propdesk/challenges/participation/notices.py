"""What a participation's stages tell their trader (docs/notifications.md): the account
is ready (`participation.approved`), the stage passed, failed, is paused or runs again. Each is
raised with `notifications.events.emit` in the transaction that decided it (the monitor's batch,
a staff intervention, the outbox's completion of the account's opening).

A failure or pause comes with one sentence saying why, from the rules' outcome: written lazily,
so the client reads it in their language and the webhooks in English.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import formats, timezone
from django.utils.functional import lazy
from django.utils.translation import get_language, gettext, ngettext

from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.notifications import events
from propdesk.platforms.protocol import Credentials
from propdesk.rules.events import Outcome
from propdesk.rules.model import (
    INACTIVITY,
    MAX_DAILY_LOSS,
    MAX_LOSS,
    MAX_LOSS_PER_TRADE,
    MAX_OPEN_POSITIONS,
    MAX_OPEN_VOLUME,
    PAUSED,
    RESUMED,
    TRADING_PERIOD,
    WEEKEND_HOLDING,
)

CENTS = Decimal("0.01")
PASSED, FAILED = "stage.passed", "stage.failed"
STAGE_PAUSED, STAGE_RESUMED = "stage.paused", "stage.resumed"


def _n(text: Any) -> str:
    """A figure of the rules' explanation (a decimal string) as the reader's language writes it."""
    try:
        value = Decimal(str(text)).quantize(CENTS)  # in cents (a floor worked out to 4 places)
    except (InvalidOperation, ValueError):
        return str(text)
    return formats.number_format(value, use_l10n=True, force_grouping=True)


def _when(text: Any) -> str:
    """A time of the rules' explanation (ISO 8601, UTC) as the reader writes it, in their time
    zone (`events.emit` renders in the client's); a day stays a day."""
    raw = str(text)
    try:
        if "T" not in raw:
            return formats.date_format(date.fromisoformat(raw), "DATE_FORMAT")
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return raw
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=UTC)
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({local.tzname()})"


def _sentence(kind: str, rule: str | None, why: dict[str, Any]) -> str:
    """One sentence, in the active language, of why the rules paused, resumed or failed a
    stage; a figure the explanation lacks gives the general sentence."""
    try:
        return _worded(kind, rule, why)
    except (KeyError, TypeError):
        if kind == PAUSED:
            return gettext("The stage's rules paused trading on the account.")
        if kind == RESUMED:
            return gettext("The pause is over: the account trades again.")
        return gettext("The stage's rules ended it.")


def _worded(kind: str, rule: str | None, why: dict[str, Any]) -> str:
    if kind == RESUMED:
        return gettext("The day ended: the pause is over and the daily loss limit applies again.")
    if rule == MAX_LOSS:
        return gettext(
            "Your equity fell to %(equity)s, below the maximum loss floor of %(floor)s."
        ) % {"equity": _n(why["snapshot"]["equity"]), "floor": _n(why["floor"])}
    if rule == MAX_DAILY_LOSS and kind == PAUSED:
        return gettext(
            "Your equity fell to %(equity)s, below the daily loss floor of %(floor)s: trading "
            "is paused until the day ends at %(until)s."
        ) % {
            "equity": _n(why["snapshot"]["equity"]),
            "floor": _n(why["floor"]),
            "until": _when(why["paused_until"]),
        }
    if rule == MAX_DAILY_LOSS:
        return gettext(
            "Your equity fell to %(equity)s, below the daily loss floor of %(floor)s."
        ) % {"equity": _n(why["snapshot"]["equity"]), "floor": _n(why["floor"])}
    if rule == MAX_LOSS_PER_TRADE:
        return gettext(
            "A trade closed with a loss of %(loss)s, more than the %(allowed)s allowed per trade."
        ) % {"loss": _n(abs(Decimal(why["deal"]["profit"]))), "allowed": _n(why["allowed_loss"])}
    if rule == MAX_OPEN_POSITIONS:
        return gettext(
            "%(count)s positions were open at once, more than the %(limit)s allowed."
        ) % {"count": why["open_positions"], "limit": why["max_open_positions"]}
    if rule == MAX_OPEN_VOLUME:
        return gettext("%(volume)s lots were open at once, more than the %(limit)s allowed.") % {
            "volume": _n(why["open_volume"]),
            "limit": _n(why["max_open_volume"]),
        }
    if rule == WEEKEND_HOLDING:
        return gettext(
            "Positions were still open at the weekend cutoff (%(cutoff)s); every position must "
            "be closed by then."
        ) % {"cutoff": _when(why["cutoff"])}
    if rule == INACTIVITY:
        days = int(why["inactivity_days"])
        return ngettext(
            "No position was opened for %(days)s day.",
            "No position was opened for %(days)s days.",
            days,
        ) % {"days": days}
    if rule == TRADING_PERIOD:
        return gettext(
            "The trading period ended on %(day)s without the stage's objectives met."
        ) % {"day": _when(why["last_day"])}
    raise KeyError(rule)


reason = lazy(_sentence, str)


def _english() -> bool:
    return (get_language() or "en").split("-")[0] == "en"


def headline(attempt: StageAttempt, zone: ZoneInfo) -> str:
    """The stage's verdict (or pause) in one sentence as the portal shows it to its trader: in
    the active language, times in `zone`, the rules' decisions in the words of their
    notification; a staff decision in its own words. English readers get `progress.headline`,
    the rules' figures written out step by step."""
    decided = None if _english() else progress.deciding_outcome(attempt)
    if decided is None:
        return progress.headline(attempt, zone=zone)
    with timezone.override(zone):
        if decided.kind == "passed":
            return gettext("Passed at the day's close, %(at)s: every objective was met.") % {
                "at": _when(decided.at.isoformat())
            }
        return _sentence(decided.kind, decided.rule, decided.explanation)


def trace(attempt: StageAttempt) -> str:
    """The stage's stored explanation as the portal shows it: a staff's words always; the
    rules' record (their figures step by step, written in English for the firm) to a reader
    of English only, the others read `headline` and the stage's rules in their language."""
    if _english() or progress.deciding_outcome(attempt) is None:
        return attempt.explanation
    return ""


def _stage_data(attempt: StageAttempt, participation: Participation) -> dict[str, Any]:
    definition = participation.version.spec
    return {
        "challenge": definition.name,
        "stage": definition.stages[attempt.stage].name,
        "login": attempt.login,
        "participation": participation.reference,
    }


def _participation(attempt: StageAttempt) -> Participation:
    return Participation.objects.select_related("version", "client__user").get(
        pk=attempt.participation_id
    )


def tell(attempt: StageAttempt, key: str, *, why: Any = "", message: str = "") -> None:
    """Raise one of the stage's events to its trader (in the caller's transaction)."""
    participation = _participation(attempt)
    data = _stage_data(attempt, participation)
    if why:
        data["reason"] = why
    events.emit(key, user=participation.client.user, data=data, message=message)


def outcome(attempt: StageAttempt, happened: Outcome) -> None:
    """The rules acted on the stage: its trader is told (a pass needs no reason)."""
    key = {PAUSED: STAGE_PAUSED, RESUMED: STAGE_RESUMED, "failed": FAILED, "passed": PASSED}.get(
        happened.kind
    )
    if key is None:
        return
    why = "" if key == PASSED else reason(happened.kind, happened.rule, happened.explanation)
    tell(attempt, key, why=why)


def account_ready(attempt: StageAttempt, credentials: Credentials) -> None:
    """The stage's account is open: its trader reads the login and the server (the password
    stays on the portal's challenge page)."""
    participation = _participation(attempt)
    data = _stage_data(attempt, participation)
    data["server"] = credentials.server or attempt.server.name
    events.emit("participation.approved", user=participation.client.user, data=data)
