"""Back-office pages: Prop Trading > Participants (every participation with its current stage's
figures, filtered, live, exported as CSV) and a participant's page (the equity curve with its
floors and target, trades, stage history, why a stage ended, and the staff interventions).

The list query and its filters serve the page, the CSV and the staff API alike. Figures are the
monitor's (progress.figures): the rows read no trading platform, so a page costs the same few
queries whatever its length. Every change goes through interventions.py's use cases.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Max, OuterRef, Prefetch, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from propdesk.challenges import curve, interventions, progress
from propdesk.challenges.models import Challenge, Participation, StageAttempt
from propdesk.challenges.permissions import CHALLENGES_VIEW, PARTICIPANTS_MANAGE
from propdesk.challenges.rules.figures import Figures
from propdesk.challenges.rules.model import decimal_text
from propdesk.core.errors import DomainError, NotFound, ValidationFailed
from propdesk.core.templatetags.money import money
from propdesk.core.validation import parse_id, search_text, spreadsheet_safe
from propdesk.core.web import actor, apply_errors, staff_view
from propdesk.platforms import adapters
from propdesk.platforms import services as staff
from propdesk.platforms.protocol import AccountState, DealRecord

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
STAGE_MOST = 20
TRADES_PAGE = 50
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
    """The progress bars: how far to the target, how much of each allowed loss is used, and
    trading days against the minimum (a live stage has no target and no minimum)."""
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
    if attempt.kind != "live":  # a live stage never passes: its days count toward nothing
        needed = f.min_trading_days
        done = Decimal(100) if needed == 0 else Decimal(min(f.trading_days, needed) * 100) / needed
        found["days"] = {
            "key": "days",
            "label": "Trading days",
            "value": f"{done:.2f}",
            "text": f"{f.trading_days} of {needed}" if needed else f"{f.trading_days}, no minimum",
            "title": f"{f.trading_days} trading day(s); at least {needed} needed",
        }
    return found


def row(item: Participation) -> dict[str, Any]:
    attempt = item.current_attempt()
    stages = item.version.stages
    currency = item.version.definition["currency"]
    figures = figures_of(attempt)
    return {
        "p": item,
        "look": STATUS_LOOK.get(item.status, ""),
        "name": item.version.definition["name"],
        "currency": currency,
        "attempt": attempt,
        "stage": stages[attempt.stage] if attempt else None,
        "stage_number": attempt.stage + 1 if attempt else None,
        "stage_count": len(stages),
        "figures": figures,
        "bars": bars(figures, attempt, currency),
    }


# --- Prop Trading > Participants -----------------------------------------------------------------


def _list_context(request: HttpRequest) -> tuple[dict[str, Any], dict[str, str]]:
    filters, errors = read_filters(request.GET)
    rows = listing(filters)
    after = request.GET.get("after")
    try:
        items, next_cursor = page(rows, after=after)
    except ValidationFailed:
        after = None
        items, next_cursor = page(rows)
    query = filters.as_query()
    here = {**query, **({"after": str(after)} if after else {})}
    return {
        "filters": filters,
        "rows": [row(p) for p in items],
        "next_cursor": next_cursor,
        "query": urlencode(query),
        "here": urlencode(here),
        "errors": errors,
    }, errors


@never_cache
@staff_view(CHALLENGES_VIEW)
def participants(request: HttpRequest) -> HttpResponseBase:
    if request.GET.get("format") == "csv":
        filters, errors = read_filters(request.GET)
        if not errors:
            return csv_response(listing(filters))
    context, errors = _list_context(request)
    most = StageAttempt.objects.aggregate(most=Max("stage"))["most"]
    return render(
        request,
        "challenges/participants.html",
        {
            **context,
            "challenges": Challenge.objects.only("id", "name"),
            "statuses": Participation.Status.choices,
            "stages": range(1, min((most or 0) + 2, STAGE_MOST) + 1),
        },
        status=422 if errors else 200,
    )


@never_cache
@staff_view(CHALLENGES_VIEW)
def participant_rows(request: HttpRequest) -> HttpResponse:
    """The list's rows alone, which the page polls to stay live."""
    context, _ = _list_context(request)
    return render(request, "challenges/_participant_rows.html", context)


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
    stage = shown["stage"] or {}
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
        spreadsheet_safe(stage.get("name", "")),
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


# --- a participant's page ------------------------------------------------------------------------


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=interventions.REASON_LONGEST,
        label="Reason (kept in the audit log)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    attempt = forms.CharField(widget=forms.HiddenInput, required=False)


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=interventions.REASON_LONGEST,
        label="Reason (kept in the audit log)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    refund = forms.BooleanField(required=False, label="Refund the fee to the client's wallet")


def _participation(participation_id: Any) -> Participation:
    wanted = parse_id(participation_id)
    found = (
        None
        if wanted is None
        else Participation.objects.select_related("client__user", "version", "challenge")
        .prefetch_related(
            Prefetch(
                "attempts",
                queryset=StageAttempt.objects.select_related("server").order_by("stage", "id"),
            )
        )
        .filter(pk=wanted)
        .first()
    )
    if found is None:
        raise NotFound("No such participation.")
    return found


def _attempt_of(item: Participation, attempt_id: Any) -> StageAttempt:
    wanted = parse_id(attempt_id)
    found = next((a for a in item.attempts.all() if a.pk == wanted), None)
    if found is None:
        raise NotFound("No such stage of this participation.")
    return found


def _account_state(attempt: StageAttempt | None) -> tuple[AccountState | None, str]:
    """The account as its trading platform has it now; a platform that does not answer
    leaves a message instead."""
    if attempt is None:
        return None, ""
    try:
        return adapters.platform(attempt.server).account_state(attempt.login), ""
    except DomainError as exc:
        return None, f"The trading platform did not answer: {exc.message}"


def _deals(attempt: StageAttempt | None) -> list[DealRecord]:
    """The account's deals, newest first (none when the platform does not answer)."""
    if attempt is None:
        return []
    try:
        found = adapters.platform(attempt.server).trade_history(attempt.login)
    except DomainError:
        return []
    return sorted(found, key=lambda d: (d.at, d.deal), reverse=True)


def chart_data(
    attempt: StageAttempt | None, figures: Figures | None, currency: str
) -> dict[str, Any]:
    """What chart.js draws: the curve's buckets and the horizontal lines."""
    lines = []
    if figures is not None:
        for key, label, value in (
            ("target", "Profit target", figures.target_balance),
            ("daily", "Daily-loss floor", figures.daily_loss_floor),
            ("max", "Max-loss floor", figures.max_loss_floor),
        ):
            if value is not None:
                lines.append({"key": key, "label": label, "value": decimal_text(value)})
    return {
        "currency": currency,
        "time_zone": timezone.get_current_timezone_name(),
        "points": curve.points(attempt) if attempt is not None else [],
        "lines": lines,
    }


STAGE_LOOK = {"in_progress": "active", "passed": "approved", "failed": "rejected"}
WAITING_OR_RUNNING = (
    Participation.Status.PENDING_PAYMENT,
    Participation.Status.PENDING_APPROVAL,
    Participation.Status.ACTIVE,
)


def _stage_entry(item: Participation, attempt: StageAttempt) -> dict[str, Any]:
    number = attempt.stage + 1
    return {
        "a": attempt,
        "number": number,
        "title": f"Stage {number}: {item.version.stages[attempt.stage]['name']}",
        "look": STAGE_LOOK.get(attempt.status, "cancelled"),
        # Staff read who ended a stage by hand and why; the trader reads the headline only.
        "note": attempt.staff_note or progress.headline(attempt),
    }


def _page(
    request: HttpRequest,
    item: Participation,
    *,
    given: Mapping[str, forms.Form] | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    """The participant page; `given` is a refused action's form (with its errors), `error` a
    refusal of the whole action."""
    current = item.current_attempt()
    wanted = request.GET.get("attempt")
    shown = _attempt_of(item, wanted) if wanted else current
    currency = item.currency
    figures = figures_of(shown)
    state, platform_error = _account_state(shown)
    digits = staff.price_digits()
    trades = Paginator(_deals(shown), TRADES_PAGE).get_page(request.GET.get("page"))
    can_manage = actor(request).has_permission(PARTICIPANTS_MANAGE)
    running = (
        current is not None
        and current.status == StageAttempt.Status.IN_PROGRESS
        and item.status == Participation.Status.ACTIVE
    )
    open_positions = 0
    if running and can_manage:
        now, _ = (state, "") if shown == current else _account_state(current)
        open_positions = len(now.positions) if now is not None else 0
        running = now is not None  # a platform that does not answer cannot be checked
    reinstatable = (
        current is not None
        and current.status == StageAttempt.Status.FAILED
        and item.status == Participation.Status.FAILED
    )
    chosen = {"attempt": current.pk} if current is not None else {}
    shown_forms: dict[str, forms.Form] = {
        "advance": ReasonForm(initial=chosen),
        "reinstate": ReasonForm(initial=chosen),
        "retry": ReasonForm(initial={"attempt": shown.pk} if shown else {}),
        "cancel": CancelForm(),
        **(given or {}),
    }
    return render(
        request,
        "challenges/participant.html",
        {
            "p": item,
            "name": item.version.definition["name"],
            "look": STATUS_LOOK.get(item.status, ""),
            "error": error,
            "current": current,
            "stage_count": len(item.version.stages),
            "shown": _stage_entry(item, shown) if shown is not None else None,
            "currency": currency,
            "figures": figures,
            "bars": bars(figures, shown, currency),
            "next_reset": (
                progress.next_day_reset(shown)
                if shown is not None and shown.status == StageAttempt.Status.IN_PROGRESS
                else None
            ),
            "chart": chart_data(shown, figures, currency),
            "state": state,
            "platform_error": platform_error,
            "positions": [(o, digits.get(o.symbol, 5)) for o in state.positions] if state else [],
            "page": trades,
            "deals": [(d, digits.get(d.symbol, 5)) for d in trades.object_list],
            "stages": [_stage_entry(item, a) for a in item.attempts.all()],
            "can_manage": can_manage,
            "can_advance": can_manage
            and running
            and open_positions == 0
            and current is not None
            and current.kind != "live",  # a funded stage never passes
            "open_positions": open_positions if can_manage and running else 0,
            "can_reinstate": can_manage and reinstatable,
            "can_retry": can_manage and shown is not None and bool(shown.monitor_error),
            "can_cancel": can_manage and item.status in WAITING_OR_RUNNING,
            "forms": shown_forms,
        },
        status=status,
    )


@never_cache
@staff_view(CHALLENGES_VIEW)
def participant(request: HttpRequest, participation_id: int) -> HttpResponse:
    return _page(request, _participation(participation_id))


@never_cache
@staff_view(CHALLENGES_VIEW)
def participant_figures(request: HttpRequest, participation_id: int) -> HttpResponse:
    """The figures panel alone: the page reloads it every few seconds while the stage runs."""
    item = _participation(participation_id)
    wanted = request.GET.get("attempt")
    shown = _attempt_of(item, wanted) if wanted else item.current_attempt()
    figures = figures_of(shown)
    return render(
        request,
        "challenges/_participant_figures.html",
        {
            "p": item,
            "shown": _stage_entry(item, shown) if shown is not None else None,
            "currency": item.currency,
            "figures": figures,
            "bars": bars(figures, shown, item.currency),
            "next_reset": (
                progress.next_day_reset(shown)
                if shown is not None and shown.status == StageAttempt.Status.IN_PROGRESS
                else None
            ),
        },
    )


Action = Callable[[Participation, dict[str, Any]], str]


def _act(
    request: HttpRequest, participation_id: int, key: str, form: forms.Form, act: Action
) -> HttpResponseBase:
    """Run one intervention from its form: back to the page with a message when done, or the
    page again with the form's errors (422) or the refusal and its status."""
    item = _participation(participation_id)
    if not form.is_valid():
        return _page(request, item, given={key: form}, status=422)
    try:
        said = act(item, form.cleaned_data)
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _page(request, item, given={key: form}, status=422)
    except DomainError as exc:
        return _page(request, item, given={key: form}, error=exc.message, status=exc.status)
    messages.success(request, said)
    return redirect("backoffice:participant", participation_id=item.pk)


def _on_stage(
    request: HttpRequest,
    participation_id: int,
    key: str,
    use_case: Callable[..., Any],
    said: Callable[[int, Any], str],
) -> HttpResponseBase:
    """An intervention on one stage of the participation (the form names it): `said` words
    the stage number and what the use case returned."""

    def act(item: Participation, data: dict[str, Any]) -> str:
        attempt = _attempt_of(item, data.get("attempt"))
        done = use_case(attempt.pk, actor=actor(request), reason=data["reason"])
        return said(attempt.stage + 1, done)

    return _act(request, participation_id, key, ReasonForm(request.POST), act)


@require_POST
@staff_view(PARTICIPANTS_MANAGE)
def participant_advance(request: HttpRequest, participation_id: int) -> HttpResponseBase:
    return _on_stage(
        request,
        participation_id,
        "advance",
        interventions.advance,
        lambda n, _: f"Stage {n} advanced.",
    )


@require_POST
@staff_view(PARTICIPANTS_MANAGE)
def participant_reinstate(request: HttpRequest, participation_id: int) -> HttpResponseBase:
    return _on_stage(
        request,
        participation_id,
        "reinstate",
        interventions.reinstate,
        lambda n, _: f"Stage {n} reinstated: it is in progress again.",
    )


@require_POST
@staff_view(PARTICIPANTS_MANAGE)
def participant_retry(request: HttpRequest, participation_id: int) -> HttpResponseBase:
    return _on_stage(
        request,
        participation_id,
        "retry",
        interventions.retry,
        lambda n, applied: f"Stage {n} is watched again; {applied} missed event(s) applied.",
    )


@require_POST
@staff_view(PARTICIPANTS_MANAGE)
def participant_cancel(request: HttpRequest, participation_id: int) -> HttpResponseBase:
    def act(item: Participation, data: dict[str, Any]) -> str:
        done = interventions.cancel(
            item.pk, actor=actor(request), reason=data["reason"], refund=data["refund"]
        )
        refunded = " and its fee refunded" if done.refund_entry_id else ""
        return f"Participation #{done.pk} cancelled{refunded}."

    return _act(request, participation_id, "cancel", CancelForm(request.POST), act)
