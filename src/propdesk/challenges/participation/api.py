"""Participations over the API: a client starts a challenge, follows their own, retries a
failed one and resets a running stage (participation.retries); staff list the participants with
their current stage."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from annotated_types import Ge, Interval
from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Header, Query, Router, Schema, Status

from propdesk.accounts import zones
from propdesk.accounts.api_auth import current_client, current_staff
from propdesk.accounts.models import Client
from propdesk.challenges.catalogue import offering
from propdesk.challenges.catalogue.definition import StageDefinition, StageKind
from propdesk.challenges.growth import coupons
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.challenges.participation import participants, retries
from propdesk.challenges.participation import services as participation
from propdesk.challenges.permissions import CHALLENGES_VIEW
from propdesk.core.errors import ValidationFailed
from propdesk.core.pagination import After, Page, decode_id, encode_id
from propdesk.core.permissions import require_permission
from propdesk.core.schema import WHOLE, Blank, DecimalString, Money, OneOf
from propdesk.rules.model import FAILED, IN_PROGRESS, PASSED, TradingDayCounts

# --- participations ------------------------------------------------------------------------------

participations_router = Router(tags=["challenges"])
# Starting a challenge is under /challenges/{id}/start, beside the catalogue's operations.
start_router = Router(tags=["challenges"])


class StartIn(Schema):
    payment: Any = None
    method: Any = None
    coupon: Any = Field(
        None, description="Optional: a coupon code, or several separated by commas or spaces."
    )


class CredentialsOut(Schema):
    """The current stage's account. While the platform is still opening it, `being_prepared`
    is true and `login` and `password` are empty: ask again in a moment."""

    login: str = ""
    password: str = ""
    server: str
    being_prepared: bool = False


class FiguresOut(Schema):
    """Where the current stage stands, as of the last account event the monitor read (the
    stage's starting figures before the first): money and percentages are exact decimal
    strings, days `YYYY-MM-DD`, instants UTC `...Z`. `*_used_pct` is how much of an allowed
    loss is used (0 to 100); distances are `equity - floor`."""

    status: Annotated[str, OneOf((IN_PROGRESS, PASSED, FAILED))]
    rule: str | None
    as_of: str | None
    day: str | None
    day_end: str | None
    paused: bool
    balance: DecimalString
    equity: DecimalString
    daily_loss_floor: DecimalString | None
    daily_loss_distance: DecimalString | None
    daily_loss_allowed: DecimalString | None
    daily_loss_used_pct: DecimalString | None
    max_loss_floor: DecimalString | None
    max_loss_distance: DecimalString | None
    max_loss_allowed: DecimalString | None
    max_loss_used_pct: DecimalString | None
    profit: DecimalString
    target_balance: DecimalString | None
    target_progress_pct: DecimalString | None
    trading_days: int
    min_trading_days: int
    best_day_profit: DecimalString | None
    best_day_ratio_pct: DecimalString | None
    best_day_max_pct: DecimalString | None
    period_last_day: str | None
    days_left: int | None
    open_positions: int
    trading_day_counts: Annotated[str, OneOf(TradingDayCounts)] = Field(
        description='How trading days are counted: "opened" or "opened_and_closed".'
    )
    trading_day_min_profit_pct: DecimalString | None = Field(
        description="The least day profit (% of the initial balance) a trading day needs."
    )
    open_volume: DecimalString = Field(
        description="Lots open now (the sum of the open positions' volumes)."
    )
    max_open_positions: int | None
    max_open_volume: DecimalString | None
    weekend_cutoff: str | None = Field(
        description="The next weekend cutoff (UTC), by which every position must be closed."
    )
    moved: DecimalString = Field(
        description="Money the firm moved into (+) or out of (-) the account, e.g. payouts; "
        "profit leaves it out."
    )


class StageOut(Schema):
    stage: int
    name: str
    kind: StageKind
    status: Annotated[str, OneOf(StageAttempt.Status.values)]
    started_at: datetime
    ended_at: datetime | None
    explanation: str | None
    reset: bool = Field(
        False, description="This attempt was cancelled by a paid reset: the stage started over."
    )


class RetryOut(Schema):
    """What retrying this failed challenge costs now (`POST .../retry`). While the discount
    lasts, `fee` is `full_fee` less `discount_pct` %, until `discount_until`."""

    fee: Money
    full_fee: Money
    currency: str
    discount_pct: DecimalString | None = None
    discount_until: datetime | None = None


class ResetOut(Schema):
    """What resetting the running stage costs (`POST .../reset`)."""

    fee: Money
    currency: str


class ParticipationOut(Schema):
    id: int
    challenge: int
    name: str
    version: int
    status: Annotated[str, OneOf(Participation.Status.values)]
    payment: Annotated[str, OneOf(Participation.Payment.values)]
    fee: Money = Field(description="What was paid: the price less any discount.")
    discount: Money = Field(description="What coupons took off the price.")
    gross_fee: Money = Field(description="The price before any discount.")
    currency: str
    stage: int | None
    stage_name: str | None
    stage_kind: StageKind | None = None
    stage_status: Annotated[str, OneOf(StageAttempt.Status.values)] | None = None
    paused: bool = False
    credentials: CredentialsOut | None
    checkout_url: str | None = None  # a direct purchase waiting for its payment
    figures: FiguresOut | None = None
    next_day_reset: datetime | None = None
    headline: str | None = None
    explanation: str | None = None
    stages: list[StageOut] = []
    retry_of: int | None = Field(None, description="The failed participation this one retries.")
    retried_by: int | None = Field(None, description="The participation that retried this one.")
    retry: RetryOut | None = Field(None, description="Set when this can be retried now.")
    reset: ResetOut | None = Field(None, description="Set when the running stage can be reset.")


def _figures_out(attempt: StageAttempt) -> FiguresOut | None:
    shown = progress.figures(attempt)  # None: the monitor's state unreadable (it tells staff)
    return None if shown is None else FiguresOut(**shown.to_dict())


def _stage_out(
    attempt: StageAttempt, stages: tuple[StageDefinition, ...], reset: set[int | None]
) -> StageOut:
    return StageOut(
        stage=attempt.stage + 1,
        name=stages[attempt.stage].name,
        kind=StageKind(attempt.kind),
        status=attempt.status,
        started_at=attempt.started_at,
        ended_at=attempt.ended_at,
        explanation=attempt.explanation or None,
        reset=attempt.pk in reset,
    )


def _retry_out(item: Participation, retried: Participation | None) -> RetryOut | None:
    if retries.retry_refusal(item, retried is not None):
        return None
    price = retries.retry_price(item)
    if price is None:
        return None
    return RetryOut(
        fee=price.fee,
        full_fee=price.full_fee,
        currency=price.currency,
        discount_pct=price.discount_pct,
        discount_until=price.discount_until,
    )


def _reset_out(item: Participation, attempt: StageAttempt | None) -> ResetOut | None:
    offer = item.version.spec.reset
    if offer is None or retries.reset_refusal(item, attempt):
        return None
    return ResetOut(fee=offer.fee, currency=item.currency)


def _participation_out(
    item: Participation, client: Client, retried: Participation | None = None
) -> ParticipationOut:
    attempt = item.current_attempt()
    stages = item.version.spec.stages
    found = participation.credentials(item, client)
    started_over = {a.reset_of_id for a in item.attempts.all()}  # the attempts reset
    running = attempt is not None and attempt.status == StageAttempt.Status.IN_PROGRESS
    return ParticipationOut(
        id=item.pk,
        challenge=item.challenge_id,
        name=item.version.spec.name,
        version=item.version.number,
        status=item.status,
        payment=item.payment,
        fee=item.fee,
        discount=item.discount,
        gross_fee=item.gross_fee,
        currency=item.currency,
        stage=attempt.stage + 1 if attempt else None,
        stage_name=stages[attempt.stage].name if attempt else None,
        stage_kind=StageKind(attempt.kind) if attempt else None,
        stage_status=attempt.status if attempt else None,
        paused=bool(attempt and running and attempt.paused),
        credentials=_credentials_out(found),
        checkout_url=(
            reverse("portal:pay", kwargs={"token": item.checkout_token})
            if item.status == Participation.Status.PENDING_PAYMENT
            else None
        ),
        figures=_figures_out(attempt) if attempt else None,
        next_day_reset=progress.next_day_reset(attempt) if attempt and running else None,
        headline=(progress.headline(attempt, zone=zones.zone_of(client)) or None)
        if attempt
        else None,
        explanation=(attempt.explanation or None) if attempt else None,
        stages=[_stage_out(a, stages, started_over) for a in item.attempts.all()],
        retry_of=item.retry_of_id,
        retried_by=retried.pk if retried is not None else None,
        retry=_retry_out(item, retried),
        reset=_reset_out(item, attempt),
    )


@start_router.post(
    "/{challenge_id}/participations",
    response={201: ParticipationOut},
    summary="Start a challenge, paying its fee (Idempotency-Key honoured)",
    description="The start is a Prop Trading Participation request (*Approvals > Prop Trading "
    "Participation*): approved by the firm's approval method, it opens the first stage.",
)
def start(
    request: HttpRequest,
    challenge_id: str,
    payload: StartIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> Status:
    client = current_client(request)
    made = participation.start(
        client,
        challenge_id,
        payment=payload.payment,
        method=payload.method,
        idempotency_key=idempotency_key,
        coupon=payload.coupon,
    )
    return Status(201, _participation_out(made, client))


class CouponDiscountOut(Schema):
    code: str
    discount: Money


class PriceQuoteOut(Schema):
    """The price with the codes applied: `gross` less each code's `discount` is `net`."""

    currency: str
    gross: Money
    discount: Money
    net: Money
    codes: list[CouponDiscountOut]


@start_router.get(
    "/{challenge_id}/quote",
    response=PriceQuoteOut,
    summary="The price of a challenge with coupon codes, before buying it",
    description="Nothing is used or charged. A code that cannot be used is a 422 naming the "
    "`coupon` field with the reason (unknown, expired, used up, not for this challenge...).",
)
def quote(request: HttpRequest, challenge_id: str, coupon: str = "") -> PriceQuoteOut:
    client = current_client(request)
    # Offered to the client's group only: a challenge limited to another group is not found.
    priced = coupons.quote(client, offering.offered_to(challenge_id, client), coupon)
    return PriceQuoteOut(
        currency=priced.currency,
        gross=priced.gross,
        discount=priced.discount,
        net=priced.net,
        codes=[CouponDiscountOut(code=line.code, discount=line.amount) for line in priced.lines],
    )


@participations_router.get(
    "", response=list[ParticipationOut], summary="My participations, newest first"
)
def my_participations(request: HttpRequest) -> list[ParticipationOut]:
    client = current_client(request)
    mine = participation.for_client(client)
    retried = retries.retried(mine)
    return [_participation_out(p, client, retried.get(p.pk)) for p in mine]


@participations_router.get(
    "/{participation_id}",
    response=ParticipationOut,
    summary="One of my participations: the current stage's credentials, live figures, next day "
    "reset and explanation, and every stage so far",
)
def my_participation(request: HttpRequest, participation_id: str) -> ParticipationOut:
    client = current_client(request)
    return _own_out(participation.get_own(client, participation_id), client)


def _own_out(item: Participation, client: Client) -> ParticipationOut:
    return _participation_out(item, client, retries.retried([item]).get(item.pk))


@participations_router.post(
    "/{participation_id}/retry",
    response={201: ParticipationOut},
    summary="Retry a failed participation, paying its retry fee from the wallet "
    "(Idempotency-Key honoured)",
    description="Once per failed participation whose challenge offers a retry (`retry` in the "
    "participation says the price now, discounted for a while after the failure). The retry is "
    "a new participation of the same challenge version, active at once, its first stage on a "
    "fresh account. Refused (409): not failed (`not_failed`), retried already "
    "(`already_retried`, with `retry`), no offer (`no_retry_offer`), the challenge ended "
    "(`challenge_ended`), the price no longer the `fee` given (`price_changed`), short of money "
    "(`insufficient_funds`); 403 `kyc_required` under the firm's KYC policy.",
)
def retry(
    request: HttpRequest,
    participation_id: str,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
    fee: Annotated[
        str | None,
        Query(
            description="Optional: the price shown (`retry.fee`). If the retry costs anything "
            "else now (its discount ended meanwhile), nothing is charged: 409 `price_changed`, "
            "with the `fee` now."
        ),
    ] = None,
) -> Status:
    client = current_client(request)
    made = retries.retry(client, participation_id, fee=fee, idempotency_key=idempotency_key)
    return Status(201, _own_out(participation.get_own(client, made.pk), client))


@participations_router.post(
    "/{participation_id}/reset",
    response=ParticipationOut,
    summary="Reset the running stage, paying its reset fee from the wallet "
    "(Idempotency-Key honoured)",
    description="The running demo stage's account is closed (no trading, its positions "
    "closed) and the stage starts over on a fresh account at its starting balance; `reset` in "
    "the participation says the price. The Idempotency-Key is required (422 without it): a "
    "repeated request with it gets the first reset back, never a second one. Refused (409): "
    "no offer (`no_reset_offer`), the stage not running, live, on hold, set aside or its account "
    "still being prepared (`not_resettable`), short of money (`insufficient_funds`).",
)
def reset(
    request: HttpRequest,
    participation_id: str,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
) -> ParticipationOut:
    client = current_client(request)
    if not idempotency_key:  # a repeated call without one could reset (and charge) twice
        raise ValidationFailed(
            "A reset charges a fee: send an Idempotency-Key, so that a repeated request "
            "resets once.",
            fields={"Idempotency-Key": "Required."},
        )
    retries.reset(client, participation_id, idempotency_key=idempotency_key)
    return _own_out(participation.get_own(client, participation_id), client)


# --- participants (staff) ------------------------------------------------------------------------

participants_router = Router(tags=["challenges"])
STAGE_MOST, MAX_PAGE_SIZE = participants.STAGE_MOST, participants.MAX_PAGE_SIZE


class ParticipantClientOut(Schema):
    id: int
    name: str
    email: str


class CurrentStageOut(Schema):
    """A participant's current stage as staff see it in the list: its figures (null when the
    monitor's saved state cannot be read: `monitor_error` says why), the next day reset and the
    explanation of its verdict."""

    stage: int = Field(description="The stage's number, from 1.")
    stage_name: str
    kind: StageKind
    status: Annotated[str, OneOf(StageAttempt.Status.values)]
    login: str = Field(description="The stage's trading account login; empty until opened.")
    paused: bool
    figures: FiguresOut | None
    next_day_reset: datetime
    headline: str
    explanation: str
    monitor_error: str


class ParticipantOut(Schema):
    id: int
    client: ParticipantClientOut
    challenge: int
    name: str
    version: int
    status: Annotated[str, OneOf(Participation.Status.values)]
    currency: str
    created_at: datetime
    stage_count: int
    current_stage: CurrentStageOut | None = Field(
        description="The current stage; null before a stage opens."
    )


class ParticipantPage(Page[ParticipantOut]):
    pass


def _current_stage(attempt: StageAttempt | None) -> CurrentStageOut | None:
    """progress.summary (its figures None when the monitor's saved state cannot be read: the
    monitor set the stage aside and says why in `monitor_error`)."""
    return None if attempt is None else CurrentStageOut(**progress.summary(attempt))


def _participant_out(item: Participation) -> ParticipantOut:
    attempt = item.current_attempt()
    user = item.client.user
    return ParticipantOut(
        id=item.pk,
        client=ParticipantClientOut(id=item.client_id, name=user.name, email=user.email),
        challenge=item.challenge_id,
        name=item.version.spec.name,
        version=item.version.number,
        status=item.status,
        currency=item.version.spec.currency,
        created_at=item.created_at,
        stage_count=len(item.version.spec.stages),
        current_stage=_current_stage(attempt),
    )


@participants_router.get(
    "",
    response=ParticipantPage,
    summary="Staff (Prop Trading > Participants): every participant with its current stage's "
    "figures, newest first; "
    "`challenge`, `status`, `stage` (the current stage's number) filter; `after` pages by key",
)
def participants_listing(
    request: HttpRequest,
    challenge: Annotated[Annotated[int, Ge(1), WHOLE] | None, Blank] = None,
    status: Annotated[Annotated[str, OneOf(Participation.Status.values)] | None, Blank] = None,
    stage: Annotated[Annotated[int, Interval(ge=1, le=STAGE_MOST), WHOLE] | None, Blank] = None,
    after: After = None,
    limit: Annotated[int, Interval(ge=1, le=MAX_PAGE_SIZE), WHOLE] = participants.PAGE_SIZE,
) -> ParticipantPage:
    require_permission(current_staff(request), CHALLENGES_VIEW)
    filters = participants.parse_filters(
        {
            "challenge": "" if challenge is None else str(challenge),
            "status": status or "",
            "stage": "" if stage is None else str(stage),
        }
    )
    cursor = {"tag": "participants", "scope": repr(filters)}
    items, next_key = participants.page(
        participants.listing(filters), after=decode_id(after, **cursor), size=limit
    )
    return ParticipantPage(
        items=[_participant_out(p) for p in items], next=encode_id(next_key, **cursor)
    )


def _credentials_out(found: dict[str, str] | None) -> CredentialsOut | None:
    if not found:
        return None
    if found.get("preparing"):
        return CredentialsOut(server=found["server"], being_prepared=True)
    return CredentialsOut(login=found["login"], password=found["password"], server=found["server"])
