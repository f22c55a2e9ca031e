"""The participants list: its filters and query (the back-office page, its CSV and the staff API
share them) and the CSV export, streamed in chunks."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import StreamingHttpResponse
from django.utils import timezone

from propdesk.challenges.catalogue.definition import StageDefinition, StageKind
from propdesk.challenges.models import Challenge, Participation, StageAttempt
from propdesk.challenges.monitoring import limits, progress
from propdesk.core.errors import ValidationFailed
from propdesk.core.templatetags.money import money
from propdesk.core.text import plural
from propdesk.core.validation import parse_id, search_text, spreadsheet_safe
from propdesk.rules.figures import Figures
from propdesk.rules.model import decimal_text

PAGE_SIZE = 50

MAX_PAGE_SIZE = 500
STAGE_MOST = 20
STATUS_LOOK = {  # the back office's status colours
    "pending_payment": "pending",
    "pending_approval": "pending",
    "active": "active",
    "passed": "approved",
    "failed": "rejected",
    "rejected": "rejected",
    "cancelled": "cancelled",
}

# --- the list: filters, query, pages -------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    challenge: int | None = None
    status: str = ""
    stage: int | None = None  # the current stage's number, from 1

    def as_query(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items() if v not in ("", None)}


def read_filters(params: Mapping[str, Any]) -> tuple[Filters, dict[str, str]]:
    """The filters in a query string, and a message for each one that is not valid (left
    out of the filters)."""
    errors: dict[str, str] = {}
    challenge = None
    raw = search_text(params.get("challenge"), max_length=20)
    if raw:
        challenge = parse_id(raw)
        if challenge is None or not Challenge.objects.filter(pk=challenge).exists():
            errors["challenge"] = "No such challenge; choose one from the list."
            challenge = None
    status = search_text(params.get("status"), max_length=20)
    if status and status not in Participation.Status.values:
        errors["status"] = f"Status is one of: {', '.join(Participation.Status.values)}."
        status = ""
    stage = None
    raw = search_text(params.get("stage"), max_length=10)
    if raw:
        stage = parse_id(raw)
        if stage is None or not 1 <= stage <= STAGE_MOST:
            errors["stage"] = f"Stage is a number from 1 to {STAGE_MOST}."
            stage = None
    return Filters(challenge=challenge, status=status, stage=stage), errors


def parse_filters(params: Mapping[str, Any]) -> Filters:
    """The filters, or ValidationFailed naming every one that is wrong."""
    filters, errors = read_filters(params)
    if errors:
        raise ValidationFailed("Some filters are not valid.", fields=errors)
    return filters


def listing(filters: Filters) -> QuerySet[Participation]:
    """The participations the filters keep, newest first, with what a row shows."""
    rows = Participation.objects.select_related("client__user", "version").prefetch_related(
        Prefetch("attempts", queryset=StageAttempt.objects.order_by("stage", "id"))
    )
    if filters.challenge is not None:
        rows = rows.filter(challenge_id=filters.challenge)
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.stage is not None:
        # The current stage is the participation's latest attempt (current_attempt()).
        latest = StageAttempt.objects.filter(participation=OuterRef("pk")).order_by("-stage", "-id")
        rows = rows.annotate(current_stage=Subquery(latest.values("stage")[:1])).filter(
            current_stage=filters.stage - 1
        )
    return rows.order_by("-id")


def page(
    rows: QuerySet[Participation], *, after: Any = None, size: Any = PAGE_SIZE
) -> tuple[list[Participation], int | None]:
    """One page, newest first, and the cursor for the next one (None at the end): the id of
    the page's last participation, so a page far down costs what the first does."""
    errors: dict[str, str] = {}
    cursor = None
    if after not in (None, ""):
        cursor = parse_id(after)
        if cursor is None:
            errors["after"] = "The cursor is the `next` value of the previous page."
    limit = parse_id(size)
    if limit is None or not 1 <= limit <= MAX_PAGE_SIZE:
        errors["limit"] = f"Between 1 and {MAX_PAGE_SIZE}."
        limit = PAGE_SIZE
    if errors:
        raise ValidationFailed("The page is not valid.", fields=errors)
    if cursor is not None:
        rows = rows.filter(pk__lt=cursor)
    chunk = list(rows.order_by("-id")[: limit + 1])
    more = len(chunk) > limit
    chunk = chunk[:limit]
    return chunk, (chunk[-1].pk if more and chunk else None)


def figures_of(attempt: StageAttempt | None) -> Figures | None:
    """The monitor's figures for a stage; None without a stage or a readable saved state."""
    return None if attempt is None else progress.figures(attempt)


# --- how a row reads -----------------------------------------------------------------------------


def _pct(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _bar(key: str, label: str, pct: Decimal | None, title: str) -> dict[str, str] | None:
    if pct is None:
        return None
    length = min(max(pct, Decimal(0)), Decimal(100))
    return {
        "key": key,
        "label": label,
        "value": f"{length:f}",
        "text": f"{pct:.2f}%",
        "title": title,
    }


def bars(figures: Figures | None, attempt: StageAttempt | None, currency: str) -> dict[str, Any]:
    """The progress bars: how far to the target, how much of each allowed loss is used,
    trading days against the minimum (a live stage has no target and no minimum), and where
    the stage limits them, the open positions and open lots against their limits."""
    if figures is None or attempt is None:
        return {}
    f = figures
    found: dict[str, Any] = {
        "target": _bar(
            "target",
            "Profit target",
            f.target_progress_pct,
            f"Balance {money(f.balance, currency)} of the target "
            f"{money(f.target_balance, currency)} {currency}",
        ),
        "daily": _bar(
            "daily",
            "Daily loss",
            f.daily_loss_used_pct,
            f"Equity {money(f.equity, currency)}, daily floor "
            f"{money(f.daily_loss_floor, currency)} {currency}",
        ),
        "max": _bar(
            "max",
            "Max loss",
            f.max_loss_used_pct,
            f"Equity {money(f.equity, currency)}, max-loss floor "
            f"{money(f.max_loss_floor, currency)} {currency}",
        ),
        "days": None,
    }
    if attempt.kind != StageKind.LIVE:  # a live stage never passes: its days count for nothing
        needed = f.min_trading_days
        done = Decimal(100) if needed == 0 else Decimal(min(f.trading_days, needed) * 100) / needed
        counted = limits.trading_day_words(f, currency)
        found["days"] = {
            "key": "days",
            "label": "Trading days",
            "value": f"{done:.2f}",
            "text": f"{f.trading_days} of {needed}" if needed else f"{f.trading_days}, no minimum",
            "title": f"{plural(f.trading_days, 'trading day')}; at least {needed} needed"
            + (f"; a trading day is {counted}" if counted else ""),
        }
    for limit in limits.open_limits(f):  # only where the stage sets the limit
        found[limit["key"]] = {
            "key": limit["key"],
            "label": limit["label"],
            "value": f"{limit['pct']:f}",
            "text": f"{limit['count']} of {limit['limit']}",
            "title": limit["words"],
        }
    return found


def row(item: Participation) -> dict[str, Any]:
    attempt = item.current_attempt()
    stages = item.version.spec.stages
    currency = item.version.spec.currency
    figures = figures_of(attempt)
    return {
        "p": item,
        "look": STATUS_LOOK.get(item.status, ""),
        "name": item.version.spec.name,
        "currency": currency,
        "attempt": attempt,
        "stage": stages[attempt.stage] if attempt else None,
        "stage_number": attempt.stage + 1 if attempt else None,
        "stage_count": len(stages),
        "figures": figures,
        "bars": bars(figures, attempt, currency),
    }


# --- CSV -----------------------------------------------------------------------------------------

CSV_HEADER = [
    *("participation", "started", "client", "email", "challenge", "version", "status"),
    *("stage", "stage_name", "stage_kind", "stage_status", "login", "currency"),
    *("balance", "equity", "profit", "target_balance"),
    *("target_progress_pct", "daily_loss_floor", "daily_loss_used_pct", "max_loss_floor"),
    *("max_loss_used_pct", "trading_days", "min_trading_days", "as_of"),
]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _exact(value: Decimal | None) -> str:
    """A figure exactly, without zeros past the cents that say nothing."""
    return "" if value is None else decimal_text(value)


def csv_cells(item: Participation) -> list[Any]:
    shown = row(item)
    attempt: StageAttempt | None = shown["attempt"]
    f: Figures | None = shown["figures"]
    stage: StageDefinition | None = shown["stage"]
    user = item.client.user
    return [
        item.pk,
        item.created_at.isoformat(),
        spreadsheet_safe(user.name),
        spreadsheet_safe(user.email),
        spreadsheet_safe(shown["name"]),
        item.version.number,
        item.status,
        shown["stage_number"] or "",
        spreadsheet_safe(stage.name if stage else ""),
        attempt.kind if attempt else "",
        attempt.status if attempt else "",
        spreadsheet_safe(attempt.login) if attempt else "",
        shown["currency"],
        _exact(f.balance) if f else "",
        _exact(f.equity) if f else "",
        _exact(f.profit) if f else "",
        _exact(f.target_balance) if f else "",
        _pct(f.target_progress_pct) if f else "",
        _exact(f.daily_loss_floor) if f else "",
        _pct(f.daily_loss_used_pct) if f else "",
        _exact(f.max_loss_floor) if f else "",
        _pct(f.max_loss_used_pct) if f else "",
        f.trading_days if f else "",
        f.min_trading_days if f else "",
        f.as_of.isoformat() if f and f.as_of else "",
    ]


def csv_lines(rows: QuerySet[Participation], *, chunk: int = 500) -> Iterator[str]:
    """Every filtered participant, newest first, read by key a chunk at a time (each chunk
    one query and one prefetch of its attempts)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_HEADER)
    ordered = rows.order_by("-id")
    batch = list(ordered[:chunk])
    while batch:
        for item in batch:
            yield writer.writerow(csv_cells(item))
        if len(batch) < chunk:
            return
        batch = list(ordered.filter(pk__lt=batch[-1].pk)[:chunk])


def csv_response(rows: QuerySet[Participation]) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="participants-{stamp}.csv"'
    return response
