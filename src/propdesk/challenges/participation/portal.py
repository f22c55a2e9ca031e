"""Portal pages: Prop Trading > New (the published challenges a client may start, their
details and Start now) and My challenges (the client's own participations; one participation's
page in tabs: Overview with the trading credentials and the live figures of the current stage,
refreshed by a fragment, Chart with its equity curve, Trades with its account's deals as the
platform has them, and Payouts). Starting goes through participation.start, the one use case
that charges; figures are only read (challenges.monitoring.progress), never changed."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from propdesk.accounts import zones
from propdesk.accounts.models import Client
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.catalogue import offering
from propdesk.challenges.catalogue.definition import (
    ChallengeDefinition,
    PaymentWay,
    StageDefinition,
)
from propdesk.challenges.catalogue.offers import DEFAULT_SCHEDULE
from propdesk.challenges.catalogue.wording import (
    amount_text,
    payout_schedule_text,
    reset_terms,
    retry_terms,
    rule_lines,
)
from propdesk.challenges.growth import coupons
from propdesk.challenges.models import ChallengeVersion, Participation, StageAttempt
from propdesk.challenges.monitoring import limits, progress
from propdesk.challenges.participation import notices, portal_home, retries
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import DomainError, ValidationFailed
from propdesk.core.money import MINOR_UNITS, quantize, quantum
from propdesk.core.web import actor, client_view, edit_form
from propdesk.rules.figures import Figures
from propdesk.wallet import deposits, ledger
from propdesk.wallet.models import PaymentMethod
from propdesk.wallet.providers import registry

PAYMENT_WAY_WORDS = {
    PaymentWay.WALLET: _("Wallet deduction: the fee is taken from your wallet"),
    PaymentWay.DIRECT: _("Direct purchase: pay the fee by card at the checkout"),
}
KIND_WORDS = {"demo": _("demo"), "live": _("live")}
TAG_LONGEST = 30


# --- how a challenge reads to a client -----------------------------------------------------------


def stage_summary(stage: StageDefinition) -> str:
    """One line a stage: "Challenge · demo · 100,000 · target 8% · daily loss 5% · max loss
    10%", "Funded · live · 100,000 · max loss 10% · 80% profit share"."""
    rules = stage.rules
    kind = str(KIND_WORDS.get(stage.kind.value, stage.kind.value))
    parts = [stage.name, kind, amount_text(stage.balance)]
    if rules.profit_target_pct:
        parts.append(gettext("target %(pct)s%%") % {"pct": rules.profit_target_pct})
    if rules.max_daily_loss:
        parts.append(gettext("daily loss %(pct)s%%") % {"pct": rules.max_daily_loss.pct})
    if rules.max_loss:
        parts.append(gettext("max loss %(pct)s%%") % {"pct": rules.max_loss.pct})
    if stage.profit_share_pct:
        parts.append(gettext("%(pct)s%% profit share") % {"pct": stage.profit_share_pct})
    return " · ".join(parts)


def offers_words(definition: ChallengeDefinition) -> dict[str, str | None]:
    """The payout terms (the share kept, the schedule) and the paid retry and reset, briefly,
    as a client reads them before buying; None: not offered."""
    live = [stage for stage in definition.stages if stage.is_live]
    currency = definition.currency
    shares = list(dict.fromkeys(f"{stage.profit_share_pct}%" for stage in live))
    if len(shares) > 1:
        shares = [
            gettext("%(pct)s%% on %(stage)s") % {"pct": stage.profit_share_pct, "stage": stage.name}
            for stage in live
        ]
    schedule = definition.payouts or DEFAULT_SCHEDULE
    retry, reset = definition.retry, definition.reset
    return {
        "share": gettext("You keep %(shares)s of the profit") % {"shares": ", ".join(shares)}
        if live
        else None,
        "schedule": payout_schedule_text(schedule, currency) if live else None,
        "retry": retry_terms(retry, currency) if retry else None,
        "reset": reset_terms(reset, currency) if reset else None,
    }


def card(version: ChallengeVersion) -> dict[str, Any]:
    definition = version.spec
    return {
        "challenge_id": version.challenge_id,
        "d": definition,
        "stages": [stage_summary(stage) for stage in definition.stages],
    }


def all_tags(versions: list[ChallengeVersion]) -> list[str]:
    seen: dict[str, str] = {}
    for version in versions:
        for tag in version.spec.tags:
            seen.setdefault(tag.lower(), tag)
    return sorted(seen.values(), key=str.lower)


# --- Prop Trading > New --------------------------------------------------------------------------


@client_view
def challenges(request: HttpRequest) -> HttpResponse:
    tag = request.GET.get("tag", "").strip()[:TAG_LONGEST]
    every = offering.for_client(actor(request).client)  # the client group's catalogue
    shown = offering.for_client(actor(request).client, tag=tag) if tag else every
    return render(
        request,
        "challenges/portal_challenges.html",
        {"cards": [card(version) for version in shown], "tags": all_tags(every), "tag": tag},
    )


class StartForm(forms.Form):
    payment = forms.ChoiceField(choices=[(way, way) for way in PaymentWay.values])
    # A direct purchase's online method (the use case checks it).
    method = forms.CharField(required=False, max_length=20)
    # One code or several (growth.coupons checks them); "Apply" shows the price with them.
    coupon = forms.CharField(required=False, max_length=300)
    # One key per rendered form: a double click or a resubmitted page charges once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


def online_methods(currency: str, client: Client | None = None) -> list[PaymentMethod]:
    """The payment methods (offered to `client`) a challenge in `currency` can be bought with
    directly."""
    found = deposits.enabled_methods(client).filter(provider__in=registry.kinds())
    return [method for method in found if currency in method.currencies]


def _detail_page(
    request: HttpRequest,
    version: ChallengeVersion,
    form: StartForm,
    *,
    error: DomainError | None = None,
    promo_note: str = "",
) -> HttpResponse:
    definition = version.spec
    currency = definition.currency
    held = ledger.balances(actor(request).client).get(currency, Decimal(0))
    coupon_error = " ".join(str(e) for e in form.errors.get("coupon", [])) if form.is_bound else ""
    priced, refused = (None, "") if coupon_error else _quoted(request, version, form)
    coupon_error = coupon_error or refused
    fee = priced.net if priced is not None else definition.fee
    methods = online_methods(currency, actor(request).client)
    ways = [
        {
            "value": way.value,
            "label": PAYMENT_WAY_WORDS[way],
            "open": way == PaymentWay.WALLET or bool(methods),
        }
        for way in definition.payment_ways
    ]
    status = 200
    if error is not None:
        status = error.status
    elif form.errors or (coupon_error and form.is_bound):
        status = 422
    return render(
        request,
        "challenges/portal_challenge.html",
        {
            "challenge_id": version.challenge_id,
            "d": definition,
            "stages": [
                {
                    "number": number,
                    "s": stage,
                    "balance": amount_text(stage.balance),
                    "rules": rule_lines(stage.rules),
                }
                for number, stage in enumerate(definition.stages, start=1)
            ],
            "offers": offers_words(definition),
            "ways": ways,
            "can_start": any(way["open"] for way in ways),
            "balance": quantize(held, currency),
            "short_by": quantize(fee - held, currency) if held < fee else None,
            "form": form,
            "chosen": form["payment"].value() or PaymentWay.WALLET.value,
            "methods": methods,
            "chosen_method": str(form["method"].value() or ""),
            "error": error,
            "priced": priced if priced is not None and priced.lines else None,
            "to_pay": fee,
            "coupon_error": coupon_error,
            "promo_note": promo_note,
        },
        status=status,
    )


def _promo_coupon(request: HttpRequest, version: ChallengeVersion) -> tuple[str, str]:
    """The coupon a promotional link brought (the session's `promo_coupon`) when it can be used
    on this challenge now, else none and why: a code that would be refused is not filled in,
    so it never stands in the way of buying without it."""
    code = request.session.get("promo_coupon")
    if not code or not isinstance(code, str):
        return "", ""
    try:
        coupons.quote(actor(request).client, version, code)
    except ValidationFailed as exc:
        why = exc.fields.get("coupon", exc.message)
        return "", f"The promotional code cannot be used here: {why}"
    return code, ""


def _quoted(
    request: HttpRequest, version: ChallengeVersion, form: StartForm
) -> tuple[coupons.Quote | None, str]:
    """The price with the codes typed (or brought by a promotional link), or why not."""
    typed = form["coupon"].value()
    if not typed:
        return None, ""
    try:
        return coupons.quote(actor(request).client, version, typed), ""
    except ValidationFailed as exc:
        return None, exc.fields.get("coupon", exc.message)


@require_http_methods(["GET", "POST"])
@client_view
def challenge(request: HttpRequest, challenge_id: int) -> HttpResponse:
    version = offering.offered_to(challenge_id, actor(request).client)
    promo, promo_note = _promo_coupon(request, version) if request.method == "GET" else ("", "")
    fresh = {
        "idempotency_key": uuid.uuid4().hex,
        "payment": PaymentWay.WALLET.value,
        "coupon": promo,  # a promotional link's coupon, where it can be used
    }
    form = StartForm(request.POST if request.method == "POST" else None, initial=fresh)
    refusal: list[DomainError] = []
    if request.method == "POST" and "preview" in request.POST:  # "Apply": the price, no purchase
        form.is_valid()
        return _detail_page(request, version, form)

    def start(data: dict[str, Any]) -> Participation:
        return participation.start(
            actor(request).client,
            version.challenge_id,
            payment=data["payment"],
            method=data["method"] or None,
            idempotency_key=data["idempotency_key"],
            coupon=data["coupon"] or None,
        )

    def joined(made: Participation) -> HttpResponse:
        if made.status == Participation.Status.PENDING_PAYMENT:
            # Paid at the provider's checkout; the provider's webhook takes the fee.
            return redirect("portal:pay", token=made.checkout_token)
        name, paid = made.version.spec.name, money_text(made.fee, made.currency)
        if made.fee:
            done = f"You joined {name}: {paid} was paid from your wallet" + (
                f" (discount {money_text(made.discount, made.currency)})." if made.discount else "."
            )
        elif made.discount:  # a coupon took the whole fee: nothing came from the wallet
            done = f"You joined {name}: nothing to pay, your coupon covered the fee."
        else:
            done = f"You joined {name}: nothing to pay."
        messages.success(request, done)
        return redirect("portal:my_challenge", participation_id=made.pk)

    return edit_form(
        request,
        form,
        start,
        refused=(DomainError,),
        refusal=refusal.append,
        then=joined,
        page=lambda status: _detail_page(
            request, version, form, error=refusal[0] if refusal else None, promo_note=promo_note
        ),
    )


# --- a stage's figures ---------------------------------------------------------------------------

REFRESH_SECONDS = 5


def money_text(amount: Decimal | None, currency: str) -> str:
    """An amount as the portal writes money, 95,000.00 USD; a figure finer than the currency's
    minor unit (a floor can be: the rules never round) is written whole, never rounded."""
    if amount is None:
        return "—"
    if currency in MINOR_UNITS:
        cents = amount.quantize(quantum(currency))
        amount = cents if cents == amount else amount.normalize()
    shown = formats.number_format(f"{amount:f}", use_l10n=True, force_grouping=True)
    return f"{shown} {currency}"


def _pct(value: Decimal) -> str:  # a percentage as the reader's language writes it: 71,20
    return formats.number_format(value, use_l10n=True)


def _bar_value(pct: Decimal | None) -> str:
    """A bar's length, 0 to 100 (the words beside it give the figure, overshoot included)."""
    within = min(max(pct if pct is not None else Decimal(0), Decimal(0)), Decimal(100))
    return f"{within.quantize(Decimal('0.01')):f}"


def _loss_bar(
    key: str,
    label: str,
    *,
    ruled: bool,
    used_pct: Decimal | None,
    allowed: Decimal | None,
    currency: str,
) -> dict[str, Any]:
    if not ruled:
        return {
            "key": key,
            "label": label,
            "value": None,
            "words": gettext("No %(limit)s limit") % {"limit": label.lower()},
        }
    if used_pct is None or allowed is None:  # the daily limit is set by the first figures
        return {
            "key": key,
            "label": label,
            "value": "0.00",
            "max": "100",
            "words": gettext(
                "Nothing used yet: the limit applies from the first figures of your account"
            ),
        }
    return {
        "key": key,
        "label": label,
        "value": _bar_value(used_pct),
        "max": "100",
        "words": gettext("%(pct)s%% of the %(allowed)s allowed is used")
        % {"pct": _pct(used_pct), "allowed": money_text(allowed, currency)},
    }


def bars(attempt: StageAttempt, figures: Figures, currency: str) -> list[dict[str, Any]]:
    """The bars: profit target, daily loss used, max loss used, trading days (with how they
    are counted when not the default), and the open positions and open lots against their
    limits where the stage sets them."""
    f = figures
    rules = attempt.participation.version.spec.stages[attempt.stage].rules
    # The initial balance plus the money the firm moved: the target's balance less it is the
    # trading profit the target asks for.
    initial = f.balance - f.profit
    if f.target_balance is None or f.target_progress_pct is None:
        target: dict[str, Any] = {
            "key": "target",
            "label": gettext("Profit target"),
            "value": None,
            "words": gettext("No profit target in this stage"),
        }
    else:
        target = {
            "key": "target",
            "label": gettext("Profit target"),
            "value": _bar_value(f.target_progress_pct),
            "max": "100",
            "words": gettext("%(pct)s%%: profit %(profit)s of %(target)s")
            % {
                "pct": _pct(f.target_progress_pct),
                "profit": money_text(f.profit, currency),
                "target": money_text(f.target_balance - initial, currency),
            },
        }
    least = f.min_trading_days
    days: dict[str, Any] = {"key": "days", "label": gettext("Trading days")}
    if least:
        days.update(
            value=str(min(f.trading_days, least)),
            max=str(least),
            words=ngettext(
                "%(done)s of %(least)s trading day", "%(done)s of %(least)s trading days", least
            )
            % {"done": f.trading_days, "least": least},
        )
    else:
        days.update(
            value=None,
            words=ngettext(
                "%(done)s trading day (no minimum)",
                "%(done)s trading days (no minimum)",
                f.trading_days,
            )
            % {"done": f.trading_days},
        )
    counted = limits.trading_day_words(f, currency)
    if counted:  # not the default (any day with a position opened)
        days["words"] += gettext("; a trading day is %(counted)s") % {"counted": counted}
    open_limits = [
        {
            "key": limit["key"],
            "label": limit["label"],
            "value": _bar_value(limit["pct"]),
            "max": "100",
            "words": limit["words"],
        }
        for limit in limits.open_limits(f)
    ]
    return [
        target,
        _loss_bar(
            "daily_loss",
            gettext("Daily loss"),
            ruled=rules.max_daily_loss is not None,
            used_pct=f.daily_loss_used_pct,
            allowed=f.daily_loss_allowed,
            currency=currency,
        ),
        _loss_bar(
            "max_loss",
            gettext("Max loss"),
            ruled=rules.max_loss is not None,
            used_pct=f.max_loss_used_pct,
            allowed=f.max_loss_allowed,
            currency=currency,
        ),
        days,
        *open_limits,
    ]


def day_reset(attempt: StageAttempt, now: datetime, zone: ZoneInfo) -> dict[str, Any]:
    """The next day reset: the instant (UTC), as the client's time zone reads it, and the
    seconds left (the page's countdown counts from these, whatever the browser's clock)."""
    at = progress.next_day_reset(attempt, now)
    return {
        "iso": at.isoformat().replace("+00:00", "Z"),
        "local": progress.instant_text(at, zone),
        "seconds": max(0, int((at - now).total_seconds())),
    }


def stage_figures(item: Participation, attempt: StageAttempt, zone: ZoneInfo) -> dict[str, Any]:
    """What the figures fragment shows of the current stage, its times in `zone` (the
    client's)."""
    currency = item.currency
    running = attempt.status == StageAttempt.Status.IN_PROGRESS
    now = timezone.now()
    shown: dict[str, Any] = {
        "attempt": attempt,
        "running": running,
        "paused": running and attempt.paused,
        "f": None,
        "reset": day_reset(attempt, now, zone) if running else None,
        # Target reached: when (and whether) the stage passes at a day's close.
        "outlook": progress.outlook(attempt, now, zone=zone) if running else "",
        "headline": "",
        "refresh": REFRESH_SECONDS,
        "moved": "",
        "weekend": None,
    }
    shown.update(headline=notices.headline(attempt, zone), trace=notices.trace(attempt))
    f = progress.figures(attempt)
    if f is None:  # its saved state cannot be read: the page says so (staff are told why)
        return shown
    shown.update(
        paused=running and (attempt.paused or f.paused),
        f=f,
        balance=money_text(f.balance, currency),
        equity=money_text(f.equity, currency),
        profit=money_text(f.profit, currency),
        daily_loss_floor=money_text(f.daily_loss_floor, currency),
        max_loss_floor=money_text(f.max_loss_floor, currency),
        target_balance=money_text(f.target_balance, currency),
        bars=bars(attempt, f, currency),
        as_of=_seconds_text(f.as_of, zone) if f.as_of else None,
        moved=money_text(f.moved, currency) if f.moved else "",
        weekend=limits.weekend_close(attempt, f, now, zone=zone) if running else None,
    )
    return shown


# --- My challenges -------------------------------------------------------------------------------


def _seconds_text(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname()}"


def row(
    item: Participation,
    zone: ZoneInfo,
    review: ApprovalRequest | None = None,
    retried: Participation | None = None,
) -> dict[str, Any]:
    stages = item.version.spec.stages
    attempt = item.current_attempt()
    offers = retries.offers_for(item, retried)
    until = offers.retry.discount_until if offers.retry else None
    return {
        # A retry or a reset the client may buy now (participation.retries), each form with
        # its own key: a double click or a resubmitted page charges once.
        "offers": offers,
        "retry_until": progress.instant_text(until, zone) if until else "",
        "form_key": uuid.uuid4().hex,
        # A passed stage whose next one (the live step, say) is under review.
        "review": portal_home.under_review(item, review, zone) if review is not None else None,
        "p": item,
        "name": item.version.spec.name,
        "stage_count": len(stages),
        "attempt": attempt,
        "stage": stages[attempt.stage] if attempt else None,
        "stage_number": attempt.stage + 1 if attempt else None,
        "s": stage_figures(item, attempt, zone) if attempt else None,
    }


def history(item: Participation, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Every stage attempt so far, with how each ended was decided (the current stage's
    failure is explained beside its figures already; a reset or a staff decision, whose
    explanation is its result line already, is not said twice)."""
    stages = item.version.spec.stages
    current = item.current_attempt()
    started_over = {a.reset_of_id for a in item.attempts.all()}
    rows = []
    for attempt in item.attempts.all():
        headline = notices.headline(attempt, zone)
        rows.append(
            {
                "a": attempt,
                "reset": attempt.pk in started_over,  # cancelled by the client's paid reset
                "number": attempt.stage + 1,
                "name": stages[attempt.stage].name,
                "headline": headline,
                "explain": bool(notices.trace(attempt))
                and attempt.explanation != progress.headline(attempt, zone=zone)
                and not (attempt == current and attempt.status == StageAttempt.Status.FAILED),
            }
        )
    return rows


@client_view
def my_challenges(request: HttpRequest) -> HttpResponse:
    client = actor(request).client
    mine = participation.for_client(client)
    reviews = portal_home.reviews_for(client)
    zone = zones.zone_of(client)
    retried = retries.retried(mine)
    rows = [row(p, zone, reviews.get(p.pk), retried.get(p.pk)) for p in mine]
    return render(request, "challenges/portal_my_challenges.html", {"rows": rows})


@never_cache
@require_GET
@client_view
def my_challenge_figures(request: HttpRequest, participation_id: int) -> HttpResponse:
    """The figures fragment the pages poll. Once the stage the page shows has ended or another
    has opened, the whole page is reloaded (htmx's HX-Refresh), for the verdict, the history
    and the new credentials."""
    client = actor(request).client
    item = participation.get_own(client, participation_id)
    shown = row(item, zones.zone_of(client))
    attempt = shown["attempt"]
    was = request.GET.get("shown", "")
    moved = was and (
        attempt is None
        or was != str(attempt.pk)
        or attempt.status != StageAttempt.Status.IN_PROGRESS
    )
    if moved or attempt is None:
        response = HttpResponse(status=204)
        if moved:
            response["HX-Refresh"] = "true"
        return response
    return render(
        request,
        "challenges/_portal_figures.html",
        {**shown, "compact": request.GET.get("compact") == "1"},
    )
