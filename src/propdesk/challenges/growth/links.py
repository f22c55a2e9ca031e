"""Promotional links: a link the firm (or an IB) shares, `/go/<code>/`, that lands a visitor on
registration, the challenges on offer or one challenge, bringing an optional coupon and an
optional referrer. A click is counted here; the registrations and purchases it brought are
counted from the clients who registered through it (`Client.arrived_via`).

No third-party tracking: a click adds one to the link's count and puts the link's code (and its
coupon's and referrer's) in the visitor's Django session, nothing else."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.urls import reverse

from propdesk.accounts.models import Client, User
from propdesk.challenges.growth.models import Coupon, CouponUse, PromoLink
from propdesk.challenges.models import Challenge, Participation
from propdesk.challenges.permissions import GROWTH_LINKS
from propdesk.core import audit
from propdesk.core.audit import AuditAction
from propdesk.core.errors import NotFound, ValidationFailed
from propdesk.core.money import from_database_sum
from propdesk.core.permissions import require_permission
from propdesk.core.validation import FieldErrors, clean_text, parse_id

CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # used with fullmatch: no trailing newline slips by
CODE_RULE = "A link's code has 1 to 40 letters, digits, - and _."

# What a click leaves in the visitor's session, for registration and the purchase form to read.
SESSION_LINK = "promo_link"
SESSION_COUPON = "promo_coupon"
SESSION_REFERRER = "promo_referrer"
SESSION_SEEN = "promo_seen"  # the codes this visitor's clicks were counted for
SEEN_MOST = 50

_AUDITED = ("code", "name", "landing", "challenge", "coupon", "referrer", "enabled")


def well_formed(code: Any) -> bool:
    """Whether `code` could be a link's code: checked before the database is asked anything."""
    return isinstance(code, str) and CODE.fullmatch(code) is not None


def address(link: PromoLink) -> str:
    """The link to share, absolute on the firm's public address (PROPDESK_SITE_URL)."""
    return settings.PROPDESK_SITE_URL.rstrip("/") + reverse("promo_link", args=[link.code])


# --- staff: create, edit, disable ---------------------------------------------------------------


def save_link(
    link_id: int | None,
    *,
    code: Any,
    name: Any,
    landing: Any,
    challenge: Any = None,
    coupon: Any = None,
    referrer: Any = None,
    actor: User,
) -> PromoLink:
    """Create a link (link_id None) or change one. `challenge` is a published challenge's id
    (the "challenge" landing only); `coupon` an enabled coupon's code; `referrer` a client's
    referral code or email. A link's code never changes once made: it is in the links already
    shared and it is what counts the link's registrations."""
    require_permission(actor, GROWTH_LINKS)
    errors = FieldErrors()
    clean_code = clean_text(errors, "code", code, label="Code", max_length=40)
    if clean_code and "code" not in errors and not well_formed(clean_code):
        errors.add("code", CODE_RULE)
    clean_name = clean_text(errors, "name", name, label="Name", max_length=100)
    if landing not in PromoLink.Landing.values:
        errors.add("landing", "Choose where the link lands.")
    target = _challenge(errors, challenge) if landing == PromoLink.Landing.CHALLENGE else None
    found_coupon = _coupon(errors, coupon)
    found_referrer = _referrer(errors, referrer)
    existing = None
    if link_id is not None:
        existing = PromoLink.objects.filter(pk=link_id).first()
        if existing is None:
            raise NotFound("No such promotional link.")
        if "code" not in errors and clean_code.lower() != existing.code.lower():
            errors.add("code", "A link's code cannot change (it is in the links already shared); "
                       "make a new link instead.")  # fmt: skip
        clean_code = existing.code
    clash = PromoLink.objects.filter(code__iexact=clean_code)
    if link_id is not None:
        clash = clash.exclude(pk=link_id)
    if clean_code and "code" not in errors and clash.exists():
        errors.add("code", "A link with this code already exists (codes ignore case).")
    errors.raise_if_any("Please correct the marked fields.")
    try:
        with transaction.atomic():
            link = (
                PromoLink.objects.select_for_update().get(pk=link_id)
                if link_id is not None
                else PromoLink(code=clean_code)
            )
            before = audit.snapshot(link, _AUDITED) if link.pk else None
            made = before is None
            link.name, link.landing, link.challenge = clean_name, landing, target
            link.coupon, link.referrer = found_coupon, found_referrer
            link.save()
            audit.record(
                actor=actor,
                action=AuditAction.PROMO_LINK_CREATE if made else AuditAction.PROMO_LINK_UPDATE,
                object_type="promo_link",
                object_id=link.pk,
                summary=f"Promotional link {link.code} {'created' if made else 'changed'}",
                before=before,
                after=audit.snapshot(link, _AUDITED),
            )
    except IntegrityError as exc:  # two creations of one code raced past the check above
        raise ValidationFailed(
            "Please correct the marked fields.",
            fields={"code": "A link with this code already exists (codes ignore case)."},
        ) from exc
    return link


def set_enabled(link_id: Any, *, enabled: bool, actor: User) -> PromoLink:
    """Disable a link (its clicks answer 404 from now; what it brought stays counted) or
    enable it again."""
    require_permission(actor, GROWTH_LINKS)
    wanted = parse_id(link_id)
    if wanted is None:
        raise NotFound("No such promotional link.")
    with transaction.atomic():
        link = PromoLink.objects.select_for_update().filter(pk=wanted).first()
        if link is None:
            raise NotFound("No such promotional link.")
        if link.enabled == bool(enabled):
            return link
        link.enabled = bool(enabled)
        link.save(update_fields=["enabled"])
        audit.record(
            actor=actor,
            action=AuditAction.PROMO_LINK_ENABLE if enabled else AuditAction.PROMO_LINK_DISABLE,
            object_type="promo_link",
            object_id=link.pk,
            summary=f"Promotional link {link.code} {'enabled' if enabled else 'disabled'}",
            before={"enabled": not link.enabled},
            after={"enabled": link.enabled},
        )
    return link


def _challenge(errors: FieldErrors, value: Any) -> Challenge | None:
    wanted = parse_id(value)
    found = (
        Challenge.objects.filter(pk=wanted, status=Challenge.Status.PUBLISHED).first()
        if wanted is not None
        else None
    )
    if found is None:
        errors.add("challenge", "Choose one of the published challenges.")
    return found


def _coupon(errors: FieldErrors, value: Any) -> Coupon | None:
    text = clean_text(errors, "coupon", value, label="Coupon", max_length=40, required=False)
    if not text or "coupon" in errors:
        return None
    found = Coupon.objects.filter(code__iexact=text, enabled=True).first()
    if found is None:
        errors.add("coupon", "No enabled coupon has this code.")
    return found


def _referrer(errors: FieldErrors, value: Any) -> Client | None:
    text = clean_text(errors, "referrer", value, label="Referrer", max_length=254, required=False)
    if not text or "referrer" in errors:
        return None
    found = (
        Client.objects.select_related("user")
        .filter(Q(referral_code__iexact=text) | Q(user__email__iexact=text))
        .first()
    )
    if found is None:
        errors.add("referrer", "No client has this referral code or email.")
    return found


# --- the visitor: a click -----------------------------------------------------------------------


def click(code: Any, *, count: bool = True) -> PromoLink:
    """Count one click on an enabled link (unless `count` is false: the same visitor's session
    came by it already) and return it; an unknown, disabled or malformed code is NotFound, and
    a malformed one is refused before the database is asked. The count is one UPDATE adding 1
    in the database, so clicks at the same instant are all counted."""
    if not well_formed(code):
        raise NotFound("No such link.")
    link = (
        PromoLink.objects.select_related("coupon", "referrer", "challenge")
        .filter(code__iexact=code, enabled=True)
        .first()
    )
    if link is None:
        raise NotFound("No such link.")
    if count:
        PromoLink.objects.filter(pk=link.pk).update(clicks=F("clicks") + 1)
    return link


def seen(session: Any, code: str) -> bool:
    """Whether this visitor's session came by the link already (any of the links it clicked,
    not only the last: going back and forth between two links counts each once)."""
    wanted = code.lower()
    kept = session.get(SESSION_SEEN)
    codes = [str(c).lower() for c in kept] if isinstance(kept, list) else []
    return wanted in codes or str(session.get(SESSION_LINK, "")).lower() == wanted


def remember(session: Any, link: PromoLink) -> None:
    """What a click leaves in the visitor's session: the link's code, and its coupon's and
    referrer's codes if it has them (a link with none clears an earlier link's)."""
    session[SESSION_LINK] = link.code
    kept = session.get(SESSION_SEEN)
    codes = [c for c in kept if isinstance(c, str)] if isinstance(kept, list) else []
    if link.code not in codes:
        session[SESSION_SEEN] = [*codes, link.code][-SEEN_MOST:]
    for key, value in (
        (SESSION_COUPON, link.coupon.code if link.coupon and link.coupon.enabled else ""),
        (SESSION_REFERRER, link.referrer.referral_code if link.referrer else ""),
    ):
        if value:
            session[key] = value
        else:
            session.pop(key, None)


# --- what each link brought ---------------------------------------------------------------------


@dataclass
class LinkStats:
    clicks: int = 0
    registrations: int = 0
    purchases: int = 0
    fees: dict[str, Decimal] = field(default_factory=dict)  # paid, not refunded, per currency
    coupon_uses: int = 0  # its coupon's uses by the clients who came through it

    @property
    def conversion(self) -> Decimal | None:
        """Registrations per hundred clicks, or None before the first click."""
        if not self.clicks:
            return None
        return (Decimal(self.registrations) * 100 / self.clicks).quantize(Decimal("0.1"))


# A purchase a coupon made free counts while it stands (waiting for approval, or taken up).
FREE_AND_STANDING = [
    Participation.Status.PENDING_APPROVAL,
    Participation.Status.ACTIVE,
    Participation.Status.PASSED,
    Participation.Status.FAILED,
]


def stats(links: list[PromoLink]) -> dict[int, LinkStats]:
    """Each link's counts, in a few queries for the whole list: its clicks; the clients who
    registered through it; their purchases (participations whose fee was paid and not refunded,
    and those a coupon made free that were not turned down) and those fees; the uses of the
    link's coupon by those clients."""
    found = {link.pk: LinkStats(clicks=link.clicks) for link in links}
    by_code = {link.code: link for link in links}
    if not by_code:
        return found
    for row in (
        Client.objects.filter(arrived_via__in=by_code).values("arrived_via").annotate(n=Count("id"))
    ):
        found[by_code[row["arrived_via"]].pk].registrations = row["n"]
    for row in (
        Participation.objects.filter(client__arrived_via__in=by_code)
        .filter(
            Q(fee_entry__isnull=False, refund_entry__isnull=True)
            | Q(fee=0, fee_entry__isnull=True, status__in=FREE_AND_STANDING)
        )
        .values("client__arrived_via", "currency")
        .annotate(n=Count("id"), total=Sum("fee"))
    ):
        one = found[by_code[row["client__arrived_via"]].pk]
        one.purchases += row["n"]
        one.fees[row["currency"]] = from_database_sum(row["total"], row["currency"])
    for row in (
        CouponUse.objects.filter(client__arrived_via__in=by_code)
        .values("client__arrived_via", "coupon_id")
        .annotate(n=Count("id"))
    ):
        link = by_code[row["client__arrived_via"]]
        if link.coupon_id == row["coupon_id"]:
            found[link.pk].coupon_uses = row["n"]
    return found
