"""Coupons and promo codes: the firm's discounts on a challenge's fee.

A client types one code, or several separated by commas or spaces. `quote` prices them without
writing anything (the portal's and the API's preview); `apply` does the same inside the
purchase's transaction with the coupons' rows locked (by id, so two purchases never wait on each
other in a circle) and records each use, so the last use of a coupon taken by two purchases at
once is granted once. `release` gives the uses of a purchase that never got paid back.

The order in which stacked codes apply: percentages first (each a percentage of the gross
price, quantised to the currency's minor unit, half to even), then fixed amounts; each code takes
at most what is left of the fee, so the net is never below zero. Within a kind, the codes apply
in the order typed. A code that would take nothing (the codes before it already cover the fee)
is refused rather than used up for nothing.

Only a purchase never paid gives its uses back (its checkout lapsed or was cancelled, or staff
cancelled it unpaid); a purchase paid and then refunded (rejected, or cancelled with a refund)
keeps them, so a code cannot be used again by buying and having it refunded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from propdesk.accounts import groups as client_groups_of
from propdesk.accounts.models import Client, ClientGroup, User
from propdesk.challenges.growth.models import Coupon, CouponUse
from propdesk.challenges.models import Challenge, ChallengeVersion, Participation
from propdesk.challenges.permissions import COUPONS_MANAGE
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import NotFound, ValidationFailed
from propdesk.core.money import MINOR_UNITS, from_database_sum, is_currency, parse_amount, quantum
from propdesk.core.numbers import NotANumber, read_whole
from propdesk.core.permissions import require_permission
from propdesk.core.validation import FieldErrors, clean_text, parse_decimal, read_day

CODE = re.compile(r"[A-Z0-9_-]{1,40}")
MAX_CODES = 5  # typed at once
FIELD = "coupon"  # the purchase's field the errors name


@dataclass(frozen=True)
class CodeDiscount:
    code: str
    amount: Decimal


@dataclass(frozen=True)
class Quote:
    """A price with the codes applied: `gross` less each code's discount is `net`."""

    currency: str
    gross: Decimal
    lines: list[CodeDiscount] = field(default_factory=list)

    @property
    def discount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0)).quantize(
            quantum(self.currency)
        )

    @property
    def net(self) -> Decimal:
        return self.gross - self.discount

    @property
    def codes(self) -> list[str]:
        return [line.code for line in self.lines]


def read_codes(typed: Any) -> list[str]:
    """The codes typed (commas or spaces between them), upper-case; refuses a malformed code,
    the same code twice and too many codes."""
    if typed is None:
        return []
    if not isinstance(typed, str):
        raise ValidationFailed(fields={FIELD: "The coupon code must be text."})
    if len(typed) > 300:
        raise ValidationFailed(fields={FIELD: "Too long: type at most a few coupon codes."})
    codes = [c for c in re.split(r"[\s,]+", typed.strip().upper()) if c]
    if len(codes) > MAX_CODES:
        raise ValidationFailed(fields={FIELD: f"Type at most {MAX_CODES} coupon codes."})
    for code in codes:
        if not CODE.fullmatch(code):
            raise ValidationFailed(
                fields={FIELD: "A coupon code has only letters, digits, - and _ (at most 40)."}
            )
    if len(set(codes)) != len(codes):
        raise ValidationFailed(fields={FIELD: "The same coupon code is typed twice."})
    return codes


def quote(client: Client, version: ChallengeVersion, codes: Any) -> Quote:
    """The challenge's price for this client with these codes; writes nothing."""
    wanted = read_codes(codes) if not isinstance(codes, list) else codes
    found = {c.code: c for c in Coupon.objects.filter(code__in=wanted)}
    return _price(client, version, wanted, found)


def apply(participation: Participation, codes: Any) -> Quote:
    """Inside the purchase's transaction: the codes' rows locked, checked again, each use
    counted and recorded; the participation's fee becomes the net and its discount the total."""
    wanted = read_codes(codes) if not isinstance(codes, list) else codes
    if not wanted:
        return Quote(participation.currency, participation.fee)
    locked = Coupon.objects.select_for_update().filter(code__in=wanted).order_by("pk")
    found = {c.code: c for c in locked}
    priced = _price(participation.client, participation.version, wanted, found)
    for line in priced.lines:
        coupon = found[line.code]
        Coupon.objects.filter(pk=coupon.pk).update(uses=F("uses") + 1)
        CouponUse.objects.create(
            coupon=coupon,
            participation=participation,
            client=participation.client,
            discount=line.amount,
            currency=priced.currency,
        )
    participation.fee, participation.discount = priced.net, priced.discount
    participation.save(update_fields=["fee", "discount"])
    return priced


def release(participation: Participation) -> int:
    """A purchase that was never paid (its checkout lapsed or was cancelled) gives its codes'
    uses back; returns how many. Inside the caller's transaction, the participation locked."""
    uses = list(CouponUse.objects.filter(participation=participation).order_by("coupon_id"))
    for use in uses:
        Coupon.objects.filter(pk=use.coupon_id, uses__gt=0).update(uses=F("uses") - 1)
        use.delete()
    return len(uses)


def _price(
    client: Client, version: ChallengeVersion, wanted: list[str], found: dict[str, Coupon]
) -> Quote:
    spec = version.spec
    gross, currency = spec.fee, spec.currency
    if not wanted:
        return Quote(currency, gross)
    now = timezone.now()
    coupons = []
    for code in wanted:
        coupon = found.get(code)
        if coupon is None:
            _refuse(f"{code} is not a valid coupon code.")
        assert coupon is not None
        _check(coupon, client, version.challenge_id, currency, now)
        coupons.append(coupon)
    if len(coupons) > 1:
        alone = next((c for c in coupons if not c.stackable), None)
        if alone is not None:
            _refuse(f"{alone.code} cannot be combined with another coupon code.")
    ordered = [c for c in coupons if c.kind == Coupon.Kind.PERCENT] + [
        c for c in coupons if c.kind == Coupon.Kind.FIXED
    ]
    left, lines = gross, []
    for coupon in ordered:
        if coupon.kind == Coupon.Kind.PERCENT:
            off = (gross * coupon.value / 100).quantize(quantum(currency), ROUND_HALF_EVEN)
        else:
            off = coupon.value.quantize(quantum(currency))
        off = min(off, left)
        if off <= 0:
            _refuse(_adds_nothing(coupon.code, gross, left))
        left -= off
        lines.append(CodeDiscount(coupon.code, off))
    return Quote(currency, gross, lines)


def _adds_nothing(code: str, gross: Decimal, left: Decimal) -> str:
    if gross <= 0:
        return f"{code} adds no discount here: this challenge has no fee."
    if left <= 0:
        return f"{code} adds no discount here: the fee is already covered."
    return f"{code} adds no discount on this fee."


def _check(coupon: Coupon, client: Client, challenge_id: int, currency: str, now: Any) -> None:
    code = coupon.code
    if not coupon.enabled:
        _refuse(f"{code} is no longer available.")
    if coupon.valid_from is not None and now < coupon.valid_from:
        _refuse(f"{code} is not valid yet: it starts on {_day(coupon.valid_from)}.")
    if coupon.valid_until is not None and now >= coupon.valid_until:
        _refuse(f"{code} has expired.")
    challenges = {c.pk for c in coupon.challenges.all()}
    if challenges and challenge_id not in challenges:
        _refuse(f"{code} is not for this challenge.")
    groups = {g.pk for g in coupon.client_groups.all()}
    if groups and client.group_id not in groups:
        _refuse(f"{code} is not available to you.")
    if coupon.kind == Coupon.Kind.FIXED and coupon.currency != currency:
        _refuse(
            f"{code} is a discount in {coupon.currency}; this challenge is priced in {currency}."
        )
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        _refuse(f"{code} has been used up.")
    mine = CouponUse.objects.filter(coupon=coupon, client=client).count()
    if mine >= coupon.max_uses_per_client:
        _refuse(f"You have already used {code}.")


def _refuse(message: str) -> None:
    raise ValidationFailed(message, fields={FIELD: message})


def _day(moment: datetime) -> str:
    """The day a coupon starts, in the reader's zone; with the hour and the zone where that is
    not midnight there (a client in another zone than the firm's)."""
    local = timezone.localtime(moment)
    if local.time() == time.min:
        return local.date().isoformat()
    return f"{local:%Y-%m-%d} at {local:%H:%M} ({timezone.get_current_timezone_name()})"


# --- the firm's coupons ------------------------------------------------------------------------

SNAPSHOT = [
    "code",
    "description",
    "kind",
    "value",
    "currency",
    "valid_from",
    "valid_until",
    "max_uses",
    "max_uses_per_client",
    "stackable",
    "enabled",
]


def _snapshot(coupon: Coupon) -> dict[str, Any]:
    extra = {}
    if coupon.pk:
        extra = {
            "challenges": sorted(c.pk for c in coupon.challenges.all()),
            "client_groups": sorted(g.pk for g in coupon.client_groups.all()),
        }
    return audit.snapshot(coupon, SNAPSHOT, **extra)


def save_coupon(
    coupon_id: int | None,
    *,
    actor: User,
    code: Any,
    kind: Any,
    value: Any,
    currency: Any = "",
    description: Any = "",
    valid_from: Any = None,
    valid_until: Any = None,
    max_uses: Any = None,
    max_uses_per_client: Any = 1,
    stackable: bool = False,
    enabled: bool = True,
    challenges: Any = (),
    client_groups: Any = (),
) -> Coupon:
    """Create or change a coupon. `valid_from` and `valid_until` are days (YYYY-MM-DD, or a
    date): the coupon is valid from the start of the first to the end of the last, in the
    firm's time zone. Empty `challenges` / `client_groups`: every challenge / client."""
    require_permission(actor, COUPONS_MANAGE)
    errors = FieldErrors()
    clean_code = clean_text(errors, "code", code, label="Code", max_length=40).upper()
    if clean_code and "code" not in errors and not CODE.fullmatch(clean_code):
        errors.add("code", "A code has only letters, digits, - and _.")
    text = clean_text(
        errors, "description", description, label="Description", max_length=200, required=False
    )
    if kind not in Coupon.Kind.values:
        errors.add("kind", "Choose a percentage or a fixed amount.")
    amount, money = _value(errors, kind, value, currency)
    start = _moment(errors, "valid_from", valid_from, "Valid from", end=False)
    until = _moment(errors, "valid_until", valid_until, "Valid until", end=True)
    if start is not None and until is not None and start >= until:
        errors.add("valid_until", "The last valid day is before the first.")
    total = _count(errors, "max_uses", max_uses, "Total uses", required=False)
    each = _count(errors, "max_uses_per_client", max_uses_per_client, "Uses per client")
    chosen = _rows(errors, "challenges", challenges, Challenge.objects.all(), "challenge")
    groups = _rows(errors, "client_groups", client_groups, ClientGroup.objects.all(), "group")
    clash = Coupon.objects.filter(code__iexact=clean_code)
    if coupon_id is not None:
        clash = clash.exclude(pk=coupon_id)
    if clean_code and "code" not in errors and clash.exists():
        errors.add("code", "A coupon with this code already exists.")
    errors.raise_if_any()
    try:
        return _write_coupon(
            coupon_id,
            actor,
            fields={
                "code": clean_code,
                "description": text,
                "kind": kind,
                "value": amount,
                "currency": money,
                "valid_from": start,
                "valid_until": until,
                "max_uses": total,
                "max_uses_per_client": each,
                "stackable": bool(stackable),
                "enabled": bool(enabled),
            },
            chosen=chosen,
            groups=groups,
        )
    except IntegrityError as exc:  # the same code saved at the same moment by someone else
        others = Coupon.objects.filter(code=clean_code)
        if coupon_id is not None:
            others = others.exclude(pk=coupon_id)
        if others.exists():
            raise ValidationFailed(
                fields={"code": "A coupon with this code already exists."}
            ) from exc
        raise


def _write_coupon(
    coupon_id: int | None,
    actor: User,
    *,
    fields: dict[str, Any],
    chosen: list[Any],
    groups: list[Any],
) -> Coupon:
    with transaction.atomic():
        coupon = (
            Coupon.objects.select_for_update().filter(pk=coupon_id).first()
            if coupon_id is not None
            else Coupon(created_by=actor)
        )
        if coupon is None:
            raise NotFound("No such coupon.")
        before = _snapshot(coupon) if coupon.pk else None
        total = fields["max_uses"]
        if before is not None and total is not None and total < coupon.uses:
            raise ValidationFailed(
                fields={"max_uses": f"It has been used {coupon.uses} times already."}
            )
        for name, value in fields.items():
            setattr(coupon, name, value)
        coupon.save()
        coupon.challenges.set(chosen)
        coupon.client_groups.set(client_groups_of.hold(groups))
        audit.record(
            actor=actor,
            action=AuditAction.COUPON_CREATE if before is None else AuditAction.COUPON_UPDATE,
            object_type="coupon",
            object_id=coupon.pk,
            summary=f"Coupon {coupon.code} {'created' if before is None else 'changed'}",
            before=before,
            after=_snapshot(coupon),
        )
    return coupon


def set_enabled(coupon_id: Any, *, enabled: bool, actor: User) -> Coupon:
    """Disable a coupon (no purchase takes it any more) or enable it again; audited."""
    require_permission(actor, COUPONS_MANAGE)
    with transaction.atomic():
        coupon = Coupon.objects.select_for_update().filter(pk=coupon_id).first()
        if coupon is None:
            raise NotFound("No such coupon.")
        if coupon.enabled == enabled:
            return coupon
        before = _snapshot(coupon)
        coupon.enabled = enabled
        coupon.save(update_fields=["enabled"])
        audit.record(
            actor=actor,
            action=AuditAction.COUPON_ENABLE if enabled else AuditAction.COUPON_DISABLE,
            object_type="coupon",
            object_id=coupon.pk,
            summary=f"Coupon {coupon.code} {'enabled' if enabled else 'disabled'}",
            before=before,
            after=_snapshot(coupon),
        )
    return coupon


def _value(errors: FieldErrors, kind: Any, value: Any, currency: Any) -> tuple[Any, str]:
    if kind == Coupon.Kind.PERCENT:
        percent = parse_decimal(errors, "value", value, label="Percentage", places=2)
        if percent is not None and not (0 < percent <= 100):
            errors.add("value", "A percentage is more than 0 and at most 100.")
            return None, ""
        return (percent.quantize(Decimal("0.01")) if percent is not None else None), ""
    if kind == Coupon.Kind.FIXED:
        if not is_currency(currency):
            errors.add("currency", f"Choose among: {', '.join(MINOR_UNITS)}.")
            return None, ""
        return parse_amount(errors, "value", value, currency, label="Amount"), currency
    return None, ""


def _moment(errors: FieldErrors, name: str, value: Any, label: str, *, end: bool) -> Any:
    if value is None or value == "":
        return None
    day = value if isinstance(value, date) and not isinstance(value, datetime) else None
    if isinstance(value, datetime):
        return value if timezone.is_aware(value) else timezone.make_aware(value)
    if day is None:
        day = read_day(value) if isinstance(value, str) else None
    if day is None:
        errors.add(name, f"{label} is a day written YYYY-MM-DD.")
        return None
    if end:
        day += timedelta(days=1)  # valid to the end of the day named
    return timezone.make_aware(datetime.combine(day, time.min))


def _count(errors: FieldErrors, name: str, value: Any, label: str, *, required: bool = True) -> Any:
    if value is None or value == "":
        if required:
            errors.add(name, f"{label} is required.")
        return None
    try:
        return read_whole(value, low=1, high=1_000_000_000)
    except NotANumber as exc:
        errors.add(name, f"{label} {exc.reason}")
        return None


def _rows(errors: FieldErrors, name: str, ids: Any, rows: QuerySet[Any], what: str) -> list[Any]:
    if ids is None:
        return []
    if isinstance(ids, str) or not isinstance(ids, list | tuple | set):
        errors.add(name, f"Choose each {what} from the list.")
        return []
    wanted = set()
    for raw in ids:
        try:
            wanted.add(read_whole(raw, low=1, high=10**18))
        except NotANumber:
            errors.add(name, f"Choose each {what} from the list.")
            return []
    found = list(rows.filter(pk__in=wanted))
    if len(found) != len(wanted):
        errors.add(name, f"Choose each {what} from the list.")
    return found


# --- usage statistics --------------------------------------------------------------------------


def usage(coupon: Coupon) -> dict[str, Any]:
    """What a code did: uses (of its limit), clients and discount given, purchases still
    waiting for their payment included; and the fees paid (taken, not refunded) by currency."""
    return usages([coupon])[coupon.pk]


def usages(chosen: Iterable[Coupon]) -> dict[int, dict[str, Any]]:
    """`usage` of each coupon (by id), in two queries whatever their number: the discount and
    the fees paid summed per code and currency, and the clients counted per code."""
    listed = {c.pk: c for c in chosen}
    uses = CouponUse.objects.filter(coupon_id__in=list(listed))
    # only a fee taken and kept: not one waiting for its payment, nor one refunded
    kept = Q(participation__fee_entry__isnull=False, participation__refund_entry__isnull=True)
    given: dict[int, list[tuple[str, Decimal]]] = {pk: [] for pk in listed}
    paid: dict[int, list[tuple[str, Decimal]]] = {pk: [] for pk in listed}
    sums = (
        uses.values("coupon_id", "currency")
        .annotate(
            given=Sum("discount"),
            paid=Sum("participation__fee", filter=kept),
            fees=Count("pk", filter=kept),
        )
        .order_by("coupon_id", "currency")
    )
    for row in sums:
        currency = row["currency"]
        given[row["coupon_id"]].append((currency, from_database_sum(row["given"], currency)))
        if row["fees"]:
            paid[row["coupon_id"]].append((currency, from_database_sum(row["paid"], currency)))
    clients = dict(
        uses.values("coupon_id")
        .annotate(clients=Count("client_id", distinct=True))
        .order_by()
        .values_list("coupon_id", "clients")
    )
    return {
        pk: {
            "uses": coupon.uses,
            "limit": coupon.max_uses,
            "clients": clients.get(pk, 0),
            "discount": given[pk],
            "revenue": paid[pk],
        }
        for pk, coupon in listed.items()
    }
