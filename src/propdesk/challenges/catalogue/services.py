"""The challenge catalogue's use cases: define, edit (a draft), publish with a comparison,
duplicate and end. A published version is never changed: editing a published challenge makes a
draft, and participants keep the version they started with.

A definition is one JSON object (the API takes it as is; the back office builds it):

    {"name": "2-Step 100K", "currency": "USD", "tags": ["2-step"], "time_zone": "Europe/Prague",
     "fee": "499.00", "fee_refundable": false, "payment_ways": ["wallet", "direct"],
     "client_groups": [], "progression": "automatic", "platform": "Sandbox",
     "stages": [{"name": "Challenge", "kind": "demo", "balance": "100000", "leverage": 100,
                 "group": "demo", "rules": {"profit_target_pct": "8", ...}},
                {"name": "Funded", "kind": "live", "balance": "100000", "leverage": 100,
                 "group": "live", "profit_share_pct": "80", "rules": {...}}]}

A stage's rules are docs/rules.md's object; its `initial_balance` and `timezone` come from the
stage's balance and the challenge's time zone (given, they must agree).

`clean_definition` is the one place a definition is checked: it answers the typed
`ChallengeDefinition` (catalogue.definition), whose JSON form the version keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from propdesk.accounts import groups as client_groups
from propdesk.accounts.models import User
from propdesk.challenges.catalogue import offers
from propdesk.challenges.catalogue.definition import (
    MAX_OPEN_POSITIONS,
    MAX_OPEN_VOLUME,
    MAX_STAGES,
    ChallengeDefinition,
    OnBreach,
    PaymentWay,
    Progression,
    StageKind,
)
from propdesk.challenges.models import Challenge, ChallengeVersion
from propdesk.challenges.permissions import CHALLENGES_MANAGE
from propdesk.core import audit, idempotency
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, NotFound, ValidationFailed
from propdesk.core.money import MINOR_UNITS, is_currency, parse_amount
from propdesk.core.numbers import NotANumber, read_decimal
from propdesk.core.permissions import require_permission
from propdesk.core.status import move_status
from propdesk.core.text import tidy
from propdesk.core.validation import FieldErrors, clean_text, parse_id
from propdesk.platforms.models import TradingServer
from propdesk.rules.errors import RulesError
from propdesk.rules.model import Rules

PAYMENT_WAYS = tuple(PaymentWay.values)
PROGRESSIONS = tuple(Progression.values)
STAGE_KINDS = tuple(StageKind.values)
MAX_FEE = Decimal("1000000")
MAX_BALANCE = Decimal("100000000")


# --- the definition ------------------------------------------------------------------------------


def clean_definition(raw: Any) -> ChallengeDefinition:
    """The definition, checked and in canonical form; every fault is named by its path
    (`stages.1.rules`) and nothing is kept."""
    errors = FieldErrors()
    if not isinstance(raw, dict):
        raise ValidationFailed("The definition is a JSON object.", fields={"body": "An object."})
    known = {
        "name",
        "currency",
        "tags",
        "time_zone",
        "fee",
        "fee_refundable",
        "payment_ways",
        "client_groups",
        "progression",
        "on_breach",
        "platform",
        "stages",
        "payouts",
        "retry",
        "reset",
    }
    for key in sorted(set(raw) - known):
        errors.add(str(key)[:60], "Unknown field.")
    name = clean_text(errors, "name", raw.get("name"), label="Name", max_length=100)
    given = raw.get("currency")
    currency = given if isinstance(given, str) and is_currency(given) else "USD"
    if currency != given:  # an object or a list is no currency either (nor a dict's key)
        errors.add("currency", f"Currency is one of: {', '.join(MINOR_UNITS)}.")
    zone = raw.get("time_zone", "UTC")
    try:
        if not isinstance(zone, str) or not zone or len(zone) > 60:
            raise ZoneInfoNotFoundError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.add("time_zone", "A time zone name such as Europe/Prague or UTC.")
        zone = "UTC"
    fee = parse_amount(errors, "fee", raw.get("fee"), currency, label="Fee")
    if fee is not None and fee > MAX_FEE:
        errors.add("fee", f"The fee is at most {MAX_FEE}.")
    refundable = raw.get("fee_refundable", False)
    if not isinstance(refundable, bool):
        errors.add("fee_refundable", "true or false.")
    ways = _choices(errors, "payment_ways", raw.get("payment_ways"), PAYMENT_WAYS)
    if "payment_ways" not in errors and not ways:
        errors.add("payment_ways", "At least one of: wallet, direct.")
    progression = raw.get("progression", Progression.AUTOMATIC)
    if progression not in PROGRESSIONS:
        errors.add("progression", "automatic or approved.")
    on_breach = raw.get("on_breach", OnBreach.LEAVE)
    if on_breach not in OnBreach.values:
        errors.add("on_breach", "leave or close.")
    tags = _names(errors, "tags", raw.get("tags", []), most=10, longest=30)
    groups = _names(errors, "client_groups", raw.get("client_groups", []), most=50, longest=60)
    groups = _known_groups(errors, groups)
    server = _server(errors, raw.get("platform"))
    stages = _stages(errors, raw.get("stages"), zone, server, currency)
    has_live = any(stage.get("kind") == StageKind.LIVE for stage in stages)
    payouts = offers.clean_payouts(errors, raw.get("payouts"), currency=currency, has_live=has_live)
    retry = offers.clean_retry(errors, raw.get("retry"), currency=currency)
    reset = offers.clean_reset(errors, raw.get("reset"), currency=currency)
    errors.raise_if_any("The challenge's definition has faults.")
    return ChallengeDefinition.model_validate(
        {
            "name": name,
            "currency": currency,
            "tags": tags,
            "time_zone": zone,
            "fee": str(fee),
            "fee_refundable": refundable,
            "payment_ways": ways,
            "client_groups": groups,
            "progression": progression,
            "on_breach": on_breach,
            "platform": server.name if server else "",
            "stages": stages,
            "payouts": payouts,
            "retry": retry,
            "reset": reset,
        }
    )


def _choices(errors: FieldErrors, field: str, raw: Any, allowed: tuple[str, ...]) -> list[str]:
    if not isinstance(raw, list) or any(item not in allowed for item in raw):
        errors.add(field, f"A list of: {', '.join(allowed)}.")
        return []
    return [item for item in allowed if item in raw]  # in a fixed order, once each


def _names(errors: FieldErrors, field: str, raw: Any, *, most: int, longest: int) -> list[str]:
    if not isinstance(raw, list) or len(raw) > most:
        errors.add(field, f"A list of at most {most} names.")
        return []
    names: list[str] = []
    for item in raw:
        text = tidy(item) if isinstance(item, str) else ""  # NFC, no invisible characters
        if not text or len(text) > longest or not text.isprintable():
            errors.add(field, f"Each is 1 to {longest} printable characters.")
            return []
        if text.lower() not in (n.lower() for n in names):
            names.append(text)
    return names


def _known_groups(errors: FieldErrors, names: list[str]) -> list[str]:
    """Client groups are named as Settings > Client groups has them (any case given)."""
    found, missing = client_groups.find_named(names)
    if missing:
        errors.add(
            "client_groups",
            f"No client group named {', '.join(missing)} (Settings > Client groups).",
        )
    return found


def _server(errors: FieldErrors, raw: Any) -> TradingServer | None:
    servers = TradingServer.objects.filter(enabled=True)
    if raw in (None, ""):
        server = servers.order_by("id").first()
    else:
        server = servers.filter(name=raw).first() if isinstance(raw, str) else None
    if server is None:
        errors.add("platform", "An enabled trading server's name (Settings > Trading platforms).")
    return server


def _stages(
    errors: FieldErrors, raw: Any, zone: str, server: TradingServer | None, currency: str
) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STAGES:
        errors.add("stages", f"A list of 1 to {MAX_STAGES} stages.")
        return []
    stages: list[dict[str, Any]] = []
    seen_live = False
    for number, stage in enumerate(raw):
        at = f"stages.{number}"
        if not isinstance(stage, dict):
            errors.add(at, "A stage is an object.")
            continue
        unknown = set(stage) - {
            "name",
            "kind",
            "balance",
            "leverage",
            "group",
            "rules",
            "profit_share_pct",
        }
        for key in sorted(unknown):
            errors.add(f"{at}.{str(key)[:40]}", "Unknown field.")
        given = stage.get("kind")
        kind = StageKind(given) if given in STAGE_KINDS else StageKind.DEMO
        if given not in STAGE_KINDS:
            errors.add(f"{at}.kind", "demo or live.")
        live = kind == StageKind.LIVE
        if not live and seen_live:
            errors.add(f"{at}.kind", "Demo stages come before the live ones.")
        seen_live = seen_live or live
        default_name = "Funded" if live else f"Stage {number + 1}"
        name = clean_text(
            errors, f"{at}.name", stage.get("name") or default_name, label="Name", max_length=60
        )
        balance = parse_amount(errors, f"{at}.balance", stage.get("balance"), currency)
        if balance is not None and balance > MAX_BALANCE:
            errors.add(f"{at}.balance", f"At most {MAX_BALANCE}.")
        leverage = stage.get("leverage", 100)
        if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= 1000:
            errors.add(f"{at}.leverage", "A whole number from 1 to 1000.")
        group = stage.get("group") or (
            _first(server.live_groups if live else server.demo_groups) if server else ""
        )
        if server is not None:
            allowed = server.live_groups if live else server.demo_groups
            if group not in allowed:
                errors.add(
                    f"{at}.group", f"One of {server.name}'s {kind} groups: {', '.join(allowed)}."
                )
        share = stage.get("profit_share_pct")
        if live:
            parsed = _percent(share)
            if parsed is None:
                errors.add(f"{at}.profit_share_pct", "More than 0, at most 100.")
            share = str(parsed) if parsed is not None else None
        elif share is not None:
            errors.add(f"{at}.profit_share_pct", "Only a live stage has a profit share.")
        rules = _rules(errors, f"{at}.rules", stage.get("rules"), balance, zone)
        stages.append(
            {
                "name": name,
                "kind": kind,
                "balance": str(balance),
                "leverage": leverage,
                "group": group,
                "profit_share_pct": share if live else None,
                "rules": rules,
            }
        )
    return stages


def _first(items: list[str]) -> str:
    return items[0] if items else ""


def _percent(raw: Any) -> Decimal | None:
    try:
        value = read_decimal(raw)
    except NotANumber:
        return None
    return value if 0 < value <= 100 else None


# The rules' decimal values (spec/rules.md), read as every number people send us is read
# (core.numbers) before the evaluator's own parse, which also takes "1E+1", "+5" and ".5".
RULE_DECIMALS = (
    ("profit_target_pct",),
    ("max_loss_per_trade_pct",),
    ("best_day_max_pct",),
    ("max_open_volume",),
    ("max_daily_loss", "pct"),
    ("max_loss", "pct"),
    ("max_loss", "lock_offset"),
    ("trading_day", "min_profit_pct"),
)


def _rule_decimal_fault(rules: dict[str, Any]) -> str | None:
    for path in RULE_DECIMALS:
        value: Any = rules
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        try:
            read_decimal(value)
        except NotANumber as exc:
            return f"{'.'.join(path)} {exc.reason}"
    return None


def _rules(
    errors: FieldErrors, field: str, raw: Any, balance: Decimal | None, zone: str
) -> dict[str, Any]:
    if not isinstance(raw, dict):
        errors.add(field, "The stage's rules, an object (docs/rules.md).")
        return {}
    if balance is None:
        return {}
    given = dict(raw)
    for key, value in (("initial_balance", balance), ("timezone", zone)):
        if key in given and str(given[key]) != str(value) and not _same_amount(given[key], value):
            errors.add(field, f"{key} comes from the stage ({value}); leave it out.")
            return {}
        given[key] = str(value)
    fault = _rule_decimal_fault(given)
    if fault is not None:
        errors.add(field, fault)
        return {}
    try:
        parsed = Rules.parse(given)
    except RulesError as exc:
        errors.add(field, exc.message)
        return {}
    fault = _bounds_fault(parsed, balance)
    if fault is not None:
        errors.add(field, fault)
        return {}
    return parsed.to_dict()


def _bounds_fault(rules: Rules, balance: Decimal) -> str | None:
    """The catalogue's own bounds on what the contract leaves open above, worded as the
    contract's faults are (the key first)."""
    positions = rules.max_open_positions
    if positions is not None and positions > MAX_OPEN_POSITIONS:
        return f"max_open_positions must be a whole number from 1 to {MAX_OPEN_POSITIONS}."
    volume = rules.max_open_volume
    if volume is not None and volume > MAX_OPEN_VOLUME:
        return f"max_open_volume must be more than 0 and at most {MAX_OPEN_VOLUME} lots."
    max_loss = rules.max_loss
    if max_loss is not None and max_loss.lock_offset > balance:
        return f"max_loss.lock_offset must be at most the stage's account size ({balance})."
    if (
        max_loss is not None
        and max_loss.lock_offset
        and (max_loss.mode == "static" or not max_loss.lock_at_initial)
    ):
        # The contract reads it and ignores it; a firm setting it means something it would not do.
        return (
            "max_loss.lock_offset applies only to a trailing max loss whose floor stops at the "
            "initial balance (lock_at_initial): leave it out, or change the mode."
        )
    period = rules.trading_period_days
    if period is not None and rules.min_trading_days > period:
        # The contract still reads such rules (as its first version did): nobody could pass.
        return (
            f"min_trading_days ({rules.min_trading_days}) may not exceed trading_period_days "
            f"({period}): nobody could pass the stage."
        )
    return None


def _same_amount(given: Any, value: Any) -> bool:
    try:
        return read_decimal(given) == read_decimal(value)
    except NotANumber:
        return False


# --- comparing versions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any


def compare(before: dict[str, Any] | None, after: dict[str, Any]) -> list[Change]:
    """What a draft changes against the published version, field by field (stages and their
    rules down to each key)."""
    changes: list[Change] = []

    def walk(path: str, old: Any, new: Any) -> None:
        if isinstance(old, dict) and isinstance(new, dict):
            for key in list(old) + [k for k in new if k not in old]:
                walk(f"{path}.{key}" if path else str(key), old.get(key), new.get(key))
        elif path.endswith("stages") and isinstance(old, list) and isinstance(new, list):
            for i in range(max(len(old), len(new))):
                walk(
                    f"{path}.{i}",
                    old[i] if i < len(old) else None,
                    new[i] if i < len(new) else None,
                )
        elif old != new:
            changes.append(Change(path, old, new))

    walk("", before or {}, after)
    return changes


# --- use cases -----------------------------------------------------------------------------------


def get(challenge_id: Any) -> Challenge:
    wanted = parse_id(challenge_id)
    found = None if wanted is None else Challenge.objects.filter(pk=wanted).first()
    if found is None:
        raise NotFound("No such challenge.")
    return found


def create(definition: Any, *, actor: User) -> Challenge:
    """A new challenge, as a draft (version 1)."""
    require_permission(actor, CHALLENGES_MANAGE)
    spec = clean_definition(definition)
    clean = spec.to_json()
    with transaction.atomic():
        challenge = Challenge.objects.create(name=spec.name, created_by=actor)
        ChallengeVersion.objects.create(
            challenge=challenge, number=1, definition=clean, created_by=actor
        )
        audit.record(
            actor=actor,
            action=AuditAction.CHALLENGE_CREATE,
            object_type="challenge",
            object_id=challenge.pk,
            summary=f"Challenge {challenge.name} drafted",
            after=clean,
        )
    return challenge


def save_draft(challenge_id: Any, definition: Any, *, actor: User) -> ChallengeVersion:
    """Edit the challenge's draft; a published challenge gets a new draft (the published
    version, and everyone running it, stays as it is until the draft is published)."""
    require_permission(actor, CHALLENGES_MANAGE)
    spec = clean_definition(definition)
    clean = spec.to_json()
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update().filter(pk=get(challenge_id).pk).get()
        if challenge.status == Challenge.Status.ENDED:
            raise Conflict("An ended challenge is not edited; duplicate it instead.")
        draft = challenge.draft()
        before = draft.definition if draft else None
        if draft is None:
            latest = challenge.versions.order_by("-number").first()
            draft = ChallengeVersion(
                challenge=challenge, number=(latest.number if latest else 0) + 1, created_by=actor
            )
        draft.keep(spec)
        draft.save()
        if challenge.status == Challenge.Status.DRAFT:
            challenge.name = spec.name
            challenge.save(update_fields=["name"])
        audit.record(
            actor=actor,
            action=AuditAction.CHALLENGE_DRAFT,
            object_type="challenge",
            object_id=challenge.pk,
            summary=f"Challenge {challenge.name}: draft v{draft.number} saved",
            before=before,
            after=clean,
        )
    return draft


def pending_changes(challenge: Challenge) -> list[Change]:
    """What publishing the draft would change (everything, for a first publication)."""
    draft = challenge.draft()
    if draft is None:
        return []
    published = challenge.published()
    return compare(published.definition if published else None, draft.definition)


def draft_digest(draft: ChallengeVersion | None) -> str:
    """A draft as a reviewer saw it: `publish(expected=...)` refuses one changed since."""
    if draft is None:
        return ""
    return idempotency.fingerprint(draft.definition)[:32]


def publish(
    challenge_id: Any, *, actor: User, expected: str | None = None
) -> tuple[ChallengeVersion, list[Change]]:
    """The draft becomes the published version; the one before is superseded (its
    participants keep it). `expected`: the draft_digest of the draft the reviewer compared."""
    require_permission(actor, CHALLENGES_MANAGE)
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update().filter(pk=get(challenge_id).pk).get()
        if challenge.status == Challenge.Status.ENDED:
            raise Conflict("An ended challenge is not published again.")
        draft = challenge.draft()
        if draft is None:
            raise Conflict("There is no draft to publish.")
        _, missing = client_groups.find_named(draft.spec.client_groups)
        if missing:
            raise ValidationFailed(
                "The challenge names client groups that do not exist.",
                fields={"client_groups": f"No client group named {', '.join(missing)}."},
            )
        if expected is not None and expected != draft_digest(draft):
            raise Conflict(
                "The draft changed since the comparison was shown: review it again, then publish."
            )
        previous = challenge.published()
        changes = compare(previous.definition if previous else None, draft.definition)
        now = timezone.now()
        if previous is not None:
            previous.state = ChallengeVersion.State.SUPERSEDED
            previous.save(update_fields=["state"])
        draft.state = ChallengeVersion.State.PUBLISHED
        draft.published_at, draft.published_by = now, actor
        draft.save(update_fields=["state", "published_at", "published_by"])
        if challenge.status == Challenge.Status.DRAFT:
            move_status(challenge, Challenge.Status.PUBLISHED, Challenge.TRANSITIONS)
            challenge.published_at = now
        challenge.name = draft.spec.name
        challenge.save()
        audit.record(
            actor=actor,
            action=AuditAction.CHALLENGE_PUBLISH,
            object_type="challenge",
            object_id=challenge.pk,
            summary=f"Challenge {challenge.name}: v{draft.number} published",
            before=previous.definition if previous else None,
            after=draft.definition,
        )
    return draft, changes


def duplicate(challenge_id: Any, *, actor: User) -> Challenge:
    """A new draft challenge from this one's latest definition."""
    source = get(challenge_id)
    latest = source.versions.order_by("-number").first()
    assert latest is not None
    copied = latest.spec.model_copy(update={"name": f"Copy of {latest.spec.name}"[:100]})
    return create(copied.to_json(), actor=actor)


def end(challenge_id: Any, *, actor: User) -> Challenge:
    """No new participants; those running go on with their version."""
    require_permission(actor, CHALLENGES_MANAGE)
    with transaction.atomic():
        challenge = Challenge.objects.select_for_update().filter(pk=get(challenge_id).pk).get()
        move_status(challenge, Challenge.Status.ENDED, Challenge.TRANSITIONS)
        challenge.ended_at = timezone.now()
        challenge.save()
        if challenge.published() is not None:  # a never-published one keeps its only version
            ChallengeVersion.objects.filter(
                challenge=challenge, state=ChallengeVersion.State.DRAFT
            ).delete()
        audit.record(
            actor=actor,
            action=AuditAction.CHALLENGE_END,
            object_type="challenge",
            object_id=challenge.pk,
            summary=f"Challenge {challenge.name} ended",
        )
    return challenge
