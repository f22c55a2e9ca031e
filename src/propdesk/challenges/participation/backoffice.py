"""Back-office pages: Prop Trading > Participants (every participation with its current stage's
figures, filtered, live, exported as CSV) and a participant's page (the equity curve with its
floors and target, trades, stage history, why a stage ended, and the staff interventions).

Figures are the monitor's (progress.figures): the rows read no trading platform, so a page
costs the same few queries whatever its length. Every change goes through interventions.py's
use cases; the list's query and CSV are participants.py's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.paginator import Paginator
from django.db.models import Max, Prefetch
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from propdesk.accounts.models import Client
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.approvals.permissions import APPROVALS_VIEW
from propdesk.challenges.catalogue.definition import StageKind
from propdesk.challenges.models import Challenge, Participation, StageAttempt
from propdesk.challenges.monitoring import limits, progress
from propdesk.challenges.monitoring.curve import chart_data, in_words
from propdesk.challenges.participation import (
    interventions,
    lifecycle,
    retries,
    stage_accounts,
    trade_history,
)
from propdesk.challenges.participation.participants import (
    STAGE_MOST,
    STATUS_LOOK,
    Filters,
    bars,
    csv_response,
    figures_of,
    listing,
    page,
    read_filters,
    row,
)
from propdesk.challenges.payouts import review as payout_review
from propdesk.challenges.permissions import CHALLENGES_VIEW, PARTICIPANTS_MANAGE
from propdesk.core.errors import DomainError, NotFound, ValidationFailed
from propdesk.core.validation import parse_id
from propdesk.core.web import actor, edit_form, staff_view
from propdesk.platforms import adapters
from propdesk.platforms import services as staff
from propdesk.platforms.protocol import AccountState, PlatformError
from propdesk.rules.figures import Figures

TRADES_PAGE = 50

# --- Prop Trading > Participants -----------------------------------------------------------------


def _under_review(items: list[Participation]) -> dict[int, str]:
    """The page's participations waiting for a next-stage or live-step decision (one query):
    participation id -> the request's type label."""
    pending = ApprovalRequest.objects.filter(
        status=ApprovalRequest.Status.PENDING,
        type_key__in=(lifecycle.STAGE_PROGRESSION, lifecycle.LIVE_STEP),
        client_id__in={p.client_id for p in items},
    ).only("type_key", "payload")
    wanted = {p.pk for p in items}
    return {
        pid: r.type_label
        for r in pending
        if isinstance(pid := (r.payload or {}).get("participation_id"), int) and pid in wanted
    }


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
    waiting = _under_review(items)
    return {
        "filters": filters,
        "rows": [{**row(p), "review": waiting.get(p.pk, "")} for p in items],
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
    if attempt is None or not attempt.login:
        return None, ""
    try:
        return adapters.platform(attempt.server).account_state(attempt.login), ""
    except DomainError as exc:
        return None, f"The trading platform did not answer: {exc.message}"
    except PlatformError as exc:
        return None, f"The trading platform did not answer: {exc}"


def _day_close(shown: StageAttempt | None, figures: Figures | None) -> dict[str, Any]:
    """A running stage's next day reset, as the instant in the stage's zone, once its target
    is reached, when it passes, and with a weekend close, the next cutoff; and how its
    trading days are counted when not the default."""
    if shown is None:
        return {"next_reset": "", "outlook": "", "weekend": None, "counted": ""}
    counted = limits.trading_day_words(figures, shown.participation.currency) if figures else ""
    if shown.status != StageAttempt.Status.IN_PROGRESS:
        return {"next_reset": "", "outlook": "", "weekend": None, "counted": counted}
    at = progress.next_day_reset(shown)
    return {
        "next_reset": progress.instant_text(at, progress.rules_for(shown).zone),
        "outlook": progress.outlook(shown),
        "weekend": limits.weekend_close(shown, figures) if figures else None,
        "counted": counted,
    }


def _curve(shown: StageAttempt | None, figures: Figures | None, currency: str) -> dict[str, Any]:
    """The shown stage's equity curve (the chart's JSON) and the same in words."""
    chart = chart_data(shown, figures, currency)
    return {"chart": chart, "chart_words": in_words(chart)}


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
        "title": f"Stage {number}: {item.version.spec.stages[attempt.stage].name}",
        "look": STAGE_LOOK.get(attempt.status, "cancelled"),
        # Staff read who ended a stage by hand and why; the trader reads the headline only.
        "note": attempt.staff_note or progress.headline(attempt),
    }


def _requests(request: HttpRequest, item: Participation) -> list[ApprovalRequest]:
    """The requests about this participation (its purchase, a next stage, the live step),
    waiting ones first, for staff who may open them."""
    me = actor(request)
    if not me.has_permission(APPROVALS_VIEW):
        return []
    found = approvals.visible_requests(me).filter(
        type_key__in=interventions.STEP_TYPES, payload__participation_id=item.pk
    )
    shown = sorted(found, key=lambda r: (not r.is_pending, -r.pk))
    for r in shown:
        stage = r.payload.get("stage")
        r.stage_number = stage + 1 if isinstance(stage, int) else None  # type: ignore[attr-defined]
    return shown


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
    history = trade_history.read(shown)
    trades = Paginator(history.deals, TRADES_PAGE).get_page(request.GET.get("page"))
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
    retried_by = retries.retried([item]).get(item.pk)
    reinstatable = (
        current is not None
        and current.status == StageAttempt.Status.FAILED
        and item.status == Participation.Status.FAILED
        and retried_by is None  # the client paid to start again: not reinstated too
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
            "name": item.version.spec.name,
            "look": STATUS_LOOK.get(item.status, ""),
            "error": error,
            "current": current,
            "stage_count": len(item.version.spec.stages),
            "shown": _stage_entry(item, shown) if shown is not None else None,
            "currency": currency,
            "figures": figures,
            "bars": bars(figures, shown, currency),
            **_day_close(shown, figures),
            **_curve(shown, figures, currency),
            "moves": limits.moves(shown, currency) if shown is not None else [],
            "state": state,
            "platform_error": platform_error,
            "preparing": stage_accounts.being_prepared(shown) if shown is not None else None,
            "positions": [(o, digits.get(o.symbol, 5)) for o in state.positions] if state else [],
            "page": trades,
            "deals": [(d, digits.get(d.symbol, 5)) for d in trades.object_list],
            "history_error": history.unavailable,
            "stages": [_stage_entry(item, a) for a in item.attempts.all()],
            # Paid second chances: the participation it retries, its retry, its stages reset.
            "retry_of": item.retry_of,
            "retried_by": retried_by,
            "resets": retries.resets_of(item),
            "can_manage": can_manage,
            "can_advance": can_manage
            and running
            and open_positions == 0
            and current is not None
            and current.kind != StageKind.LIVE,  # a funded stage never passes
            "open_positions": open_positions if can_manage and running else 0,
            "can_reinstate": can_manage and reinstatable,
            "can_retry": can_manage and shown is not None and bool(shown.monitor_error),
            "can_cancel": can_manage and item.status in WAITING_OR_RUNNING,
            "forms": shown_forms,
            "requests": _requests(request, item),
            "payouts": payout_review.of_participation(item.pk),
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
            **_day_close(shown, figures),
        },
    )


Action = Callable[[Participation, dict[str, Any]], str]


def _act(
    request: HttpRequest, participation_id: int, key: str, form: forms.Form, act: Action
) -> HttpResponseBase:
    """Run one intervention from its form: back to the page with a message when done, or the
    page again with the form's errors (422) or the refusal and its status."""
    item = _participation(participation_id)
    refusal: list[str] = []
    return edit_form(
        request,
        form,
        lambda data: act(item, data),
        refused=(DomainError,),
        refusal=lambda error: refusal.append(error.message),
        saved=str,
        then=lambda _: redirect("backoffice:participant", participation_id=item.pk),
        page=lambda status: _page(
            request, item, given={key: form}, error=" ".join(refusal), status=status
        ),
    )


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
        return f"Participation {done.reference} cancelled{refunded}."

    return _act(request, participation_id, "cancel", CancelForm(request.POST), act)


# --- the client's page: their challenges, their trading accounts, the summary's figure -----------

CLIENT_PAGE_MOST = 20


def client_challenges(request: HttpRequest, client: Client) -> dict[str, Any]:
    """The client's challenges, newest first: each stage's status and account, the current
    stage's equity and progress, and the link to the participant page."""
    found = listing(Filters()).filter(client=client)
    shown = [row(p) for p in found[:CLIENT_PAGE_MOST]]
    return {"challenge_rows": shown}


def client_trading_accounts(request: HttpRequest, client: Client) -> dict[str, Any]:
    """The trading accounts of the client's stages: platform, login, whether it trades."""
    attempts = list(
        StageAttempt.objects.filter(participation__client=client)
        .select_related("server", "participation")
        .order_by("-id")[:CLIENT_PAGE_MOST]
    )
    known = staff.accounts_by_login([a.login for a in attempts])
    return {
        "trading_rows": [
            {
                "attempt": a,
                "account": _same_server(known.get(a.login), a),
                "stage_number": a.stage + 1,
            }
            for a in attempts
        ]
    }


def _same_server(account: Any, attempt: StageAttempt) -> Any:
    """The sandbox account with the stage's login, if it is on the stage's server (another
    platform's server may use the same login)."""
    return account if account is not None and account.server_id == attempt.server_id else None


def client_summary(request: HttpRequest, client: Client) -> dict[str, Any]:
    """The top of the client's page: how many of their challenges are active."""
    mine = Participation.objects.filter(client=client)
    return {
        "active_challenges": mine.filter(status=Participation.Status.ACTIVE).count(),
        "all_challenges": mine.count(),
    }
