"""Back-office pages: Prop Trading > Challenge Settings (the catalogue: list, a challenge with
its published version, draft and the comparison between them; new, edit, publish, duplicate,
end). Every change goes through the catalogue's use cases (services.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.challenges.catalogue import alert_settings
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.catalogue.definition import (
    ChallengeDefinition,
    DailyLossLimit,
    MaxLossLimit,
    PayoutSchedule,
    PayoutTiming,
    ResetOffer,
    RetryOffer,
    StageDefinition,
    StageRules,
    TradingDayLimit,
    WeekendClose,
)
from propdesk.challenges.catalogue.forms import (
    ACTION_LABELS,
    BASIS_LABELS,
    COUNTS_LABELS,
    KIND_LABELS,
    MODE_LABELS,
    OF_LABELS,
    ON_BREACH_LABELS,
    PAYMENT_WAY_LABELS,
    PROGRESSION_LABELS,
    TIME_ZONES,
    WEEKDAY_LABELS,
    ChallengeForm,
    apply_definition_errors,
    challenge_initial,
    definition_from,
    form_faults,
    stage_forms,
)
from propdesk.challenges.catalogue.offer_forms import (
    apply_offer_errors,
    offer_faults,
    offer_forms,
    with_offers,
)
from propdesk.challenges.catalogue.presets import PRESETS, preset_spec
from propdesk.challenges.catalogue.wording import (
    amount_text,
    daily_loss_text,
    max_loss_text,
    money_text,
    offer_absent_text,
    open_limit_text,
    payout_schedule_text,
    payouts_text,
    priced,
    reset_terms,
    reset_text,
    retry_terms,
    retry_text,
    rule_lines,
    stage_line,
    stages_summary,
    trading_day_text,
    weekend_close_text,
)
from propdesk.challenges.models import Challenge, ChallengeVersion
from propdesk.challenges.permissions import CHALLENGES_MANAGE, CHALLENGES_VIEW
from propdesk.core.errors import Conflict, DomainError, ValidationFailed
from propdesk.core.web import actor, edit_form, staff_view

STATUS_LOOK = {"draft": "pending", "published": "active", "ended": "cancelled"}

# --- how a definition reads ----------------------------------------------------------------------


FIELD_LABELS = {
    "name": "Name",
    "currency": "Currency",
    "tags": "Type tags",
    "time_zone": "Time zone",
    "fee": "Fee",
    "fee_refundable": "Fee refundable",
    "payment_ways": "Payment ways",
    "client_groups": "Client groups",
    "progression": "Progression",
    "on_breach": "Open positions when a stage ends",
    "platform": "Trading platform",
    "stages": "Stages",
    "kind": "Kind",
    "balance": "Account size",
    "leverage": "Leverage",
    "group": "Platform group",
    "profit_share_pct": "Profit share %",
    "rules": "Rules",
    "initial_balance": "Initial balance",
    "timezone": "Time zone",
    "day_reset": "Day reset",
    "profit_target_pct": "Profit target %",
    "max_daily_loss": "Max daily loss",
    "max_loss": "Max loss",
    "max_loss_per_trade_pct": "Max loss per trade %",
    "min_trading_days": "Min trading days",
    "trading_period_days": "Trading period (days)",
    "inactivity_days": "Inactivity limit (days)",
    "best_day_max_pct": "Best day max %",
    "upgrade_immediately": "Pass as soon as the objectives hold",
    "pct": "%",
    "basis": "basis",
    "of": "% is of",
    "action": "on a breach",
    "mode": "mode",
    "lock_at_initial": "stops at the initial balance",
    "lock_offset": "lock offset",
    "trading_day": "Trading day",
    "counts": "counts",
    "min_profit_pct": "min profit %",
    "max_open_positions": "Max open positions",
    "max_open_volume": "Max open volume (lots)",
    "weekend_close": "Weekend close",
    "day": "day",
    "time": "time",
    "payouts": "Payouts",
    "retry": "Paid retry",
    "reset": "Paid reset",
    "timing": "timing",
    "first_after_days": "first payout after (days)",
    "every_days": "every (days)",
    "fixed_days": "days of the month",
    "min_payout": "minimum payout",
    "consistency_pct": "consistency %",
    "no_open_positions": "no open positions",
    "discount_pct": "discount %",
    "discount_days": "discount lasts (days)",
}
OFFERS = ("payouts", "retry", "reset")


def path_label(path: str, stage_names: dict[int, str]) -> list[str]:
    """`stages.1.rules.max_loss.pct` reads Stage 2 (Verification), Rules, Max loss, %."""
    parts = path.split(".")
    words = []
    index = 0
    while index < len(parts):
        part = parts[index]
        if part == "stages" and index + 1 < len(parts) and parts[index + 1].isdigit():
            number = int(parts[index + 1])
            name = stage_names.get(number)
            words.append(f"Stage {number + 1}" + (f" ({name})" if name else ""))
            index += 2
            continue
        words.append(FIELD_LABELS.get(part, part))
        index += 1
    return words


# A version-2 rule left out of one version: what its absence means, in words.
_ABSENT_WORDS = {
    "lock_offset": "no lock offset",
    "trading_day": "any day with a position opened",
    "max_open_positions": "no limit",
    "max_open_volume": "no limit",
    "weekend_close": "no weekend close",
}
# A part of an offer left out of one version (kept only when set).
_ABSENT_OFFER_WORDS = {
    "payouts.every_days": "— (paid on fixed days)",
    "payouts.fixed_days": "— (paid on request)",
    "payouts.min_trading_days": "no minimum",
    "payouts.consistency_pct": "no consistency condition",
    "payouts.no_open_positions": "positions may be open",
    "retry.discount_pct": "no discount",
    "retry.discount_days": "no discount",
}


def value_lines(value: Any, path: str = "", zone: str = "", currency: str = "") -> list[str]:
    """A compared value in words: nothing is "—", lists and objects one line a part; `zone`
    is the challenge's time zone (a weekend close is said in it), `currency` its currency."""
    if value is None:
        if path in _ABSENT_OFFER_WORDS:
            return [_ABSENT_OFFER_WORDS[path]]
        return [_ABSENT_WORDS.get(path.rsplit(".", 1)[-1], "—")]
    if path in ("payouts.min_payout", "retry.fee", "reset.fee"):
        amount = Decimal(str(value))
        return [priced(amount, currency) if amount else "no minimum"]
    if path == "payouts.timing" and str(value) in PayoutTiming.values:
        return [PayoutTiming(str(value)).label]
    if path == "payouts.no_open_positions" and value is True:
        return ["nothing may be open when the trader asks"]
    if path.endswith("lock_offset"):
        return [f"Trailing stops {money_text(Decimal(str(value)))} above the start"]
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if path.endswith("client_groups") and value == []:
        return ["every client"]
    if isinstance(value, list):
        if value and all(isinstance(item, dict) for item in value):
            return [line for item in value for line in value_lines(item, zone=zone)]
        return [", ".join(str(item) for item in value) or "none"]
    if isinstance(value, dict):
        return _object_lines(value, path, zone, currency)
    if path.endswith("max_open_positions") and isinstance(value, int):
        return [open_limit_text(value, None)]
    if path.endswith("max_open_volume"):
        return [open_limit_text(None, Decimal(str(value)))]
    labels = {
        **BASIS_LABELS,
        **OF_LABELS,
        **PROGRESSION_LABELS,
        **ACTION_LABELS,
        **MODE_LABELS,
        **COUNTS_LABELS,
    }
    worded = path.endswith(("basis", ".of", "progression", "action", "mode", "counts"))
    if worded and str(value) in labels:
        return [labels[str(value)]]
    if path.endswith(".day") and str(value) in WEEKDAY_LABELS:
        return [WEEKDAY_LABELS[str(value)]]
    if path.endswith(".kind") and str(value) in KIND_LABELS:
        return [KIND_LABELS[str(value)]]
    return [str(value)]


def _object_lines(value: dict[str, Any], path: str, zone: str, currency: str) -> list[str]:
    """A part of a kept definition, read as what it is."""
    if path == "payouts":
        return [payout_schedule_text(PayoutSchedule.model_validate(value), currency)]
    if path == "retry":
        return [f"Retry: {retry_terms(RetryOffer.model_validate(value), currency)}"]
    if path == "reset":
        return [f"Reset: {reset_terms(ResetOffer.model_validate(value), currency)}"]
    if "kind" in value and "rules" in value:  # a whole stage
        stage = StageDefinition.model_validate(value)
        return [stage_line(stage), *(f"· {line}" for line in rule_lines(stage.rules))]
    if "initial_balance" in value:  # a stage's whole rules
        return rule_lines(StageRules.model_validate(value))
    if path.endswith("max_daily_loss"):
        return [daily_loss_text(DailyLossLimit.model_validate(value))]
    if path.endswith("max_loss"):
        return [max_loss_text(MaxLossLimit.model_validate(value))]
    if path.endswith("trading_day"):
        return [trading_day_text(TradingDayLimit.model_validate(value))]
    if path.endswith("weekend_close"):
        return [weekend_close_text(WeekendClose.model_validate(value), zone)]
    parts = (
        f"{FIELD_LABELS.get(k, k)} {value_lines(v, path + '.' + k, zone, currency)[0]}"
        for k, v in value.items()
    )
    return ["; ".join(parts)]


def comparison(challenge: Challenge, draft: ChallengeVersion | None) -> list[dict[str, Any]]:
    if draft is None:
        return []
    names = {n: s.name for n, s in enumerate(draft.spec.stages)}
    published = challenge.published()
    if published is not None:
        names = {**{n: s.name for n, s in enumerate(published.spec.stages)}, **names}
    after = draft.spec
    before = published.spec if published else None

    def lines(value: Any, path: str, spec: ChallengeDefinition | None) -> list[str]:
        if value is None and path in OFFERS:  # what the version offers without one
            return [offer_absent_text(path, spec)]
        shown = spec or after
        return value_lines(value, path, shown.time_zone, shown.currency)

    return [
        {
            "path": change.path,
            "label": path_label(change.path, names),
            "before": lines(change.before, change.path, before),
            "after": lines(change.after, change.path, after),
        }
        for change in catalogue.pending_changes(challenge)
    ]


def version_view(version: ChallengeVersion | None) -> dict[str, Any] | None:
    """A version as the page shows it."""
    if version is None:
        return None
    definition = version.spec
    return {
        "version": version,
        "d": definition,
        "payment_ways": [PAYMENT_WAY_LABELS[w] for w in definition.payment_ways],
        "progression": PROGRESSION_LABELS[definition.progression],
        "on_breach": ON_BREACH_LABELS[definition.on_breach],
        "stages": [
            {
                "number": number,
                "s": stage,
                "kind": KIND_LABELS[stage.kind],
                "balance": amount_text(stage.balance),
                "rules": rule_lines(stage.rules),
            }
            for number, stage in enumerate(definition.stages, start=1)
        ],
        "payouts": payouts_text(definition),
        "retry": retry_text(definition),
        "reset": reset_text(definition),
    }


# --- Prop Trading > Challenge Settings -----------------------------------------------------------


@staff_view(CHALLENGES_VIEW)
def challenges(request: HttpRequest) -> HttpResponse:
    rows = []
    for challenge in Challenge.objects.prefetch_related("versions"):
        versions = list(challenge.versions.all())
        published = next((v for v in versions if v.state == "published"), None)
        draft = next((v for v in versions if v.state == "draft"), None)
        shown = published or draft or (versions[-1] if versions else None)
        definition = shown.spec if shown else None
        rows.append(
            {
                "challenge": challenge,
                "look": STATUS_LOOK.get(challenge.status, ""),
                "tags": definition.tags if definition else (),
                "fee": definition.fee if definition else None,
                "currency": definition.currency if definition else "",
                "refundable": definition.fee_refundable if definition else False,
                "stages": stages_summary(definition) if definition else "",
                "published": published,
                "draft": draft,
            }
        )
    return render(
        request,
        "challenges/challenges.html",
        {"rows": rows, "can_manage": actor(request).has_permission(CHALLENGES_MANAGE)},
    )


def _challenge_page(
    request: HttpRequest,
    challenge: Challenge,
    *,
    error: DomainError | None = None,
    alert_values: dict[str, Any] | None = None,
) -> HttpResponse:
    published = challenge.published()
    draft = challenge.draft()
    last = challenge.versions.order_by("-number").first()
    return render(
        request,
        "challenges/challenge.html",
        {
            "challenge": challenge,
            # The alerts' errors are shown at their fields (the box above only says so).
            "alert_error": alert_values is not None,
            "look": STATUS_LOOK.get(challenge.status, ""),
            "published": version_view(published),
            "draft": version_view(draft),
            # An ended challenge has neither a draft nor (if never published) a published
            # version: its last definition is what it was.
            "last": version_view(last) if not (published or draft) else None,
            "changes": comparison(challenge, draft),
            "digest": catalogue.draft_digest(draft),
            "versions": challenge.versions.select_related("created_by", "published_by").order_by(
                "-number"
            ),
            "can_manage": actor(request).has_permission(CHALLENGES_MANAGE),
            # A challenge ended before it was ever published has no version left to copy.
            "can_duplicate": last is not None,
            "error": error,
            "alerts": alert_values or alert_settings.current(challenge),
        },
        status=error.status if error else 200,
    )


@staff_view(CHALLENGES_VIEW)
def challenge(request: HttpRequest, challenge_id: int) -> HttpResponse:
    return _challenge_page(request, catalogue.get(challenge_id))


def _form_page(
    request: HttpRequest,
    existing: Challenge | None,
    definition: ChallengeDefinition | None,
    *,
    source: ChallengeVersion | None = None,
    preset: str = "",
    unknown_preset: DomainError | None = None,
) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    form = ChallengeForm(data, initial=challenge_initial(definition))
    stages = stage_forms(data, definition.stages if definition else None)
    sections = offer_forms(data, definition)

    def save(_: dict[str, Any]) -> tuple[Challenge, str]:
        """The use case; the page's fields name the definition's paths (`stages.1.rules`)."""
        made = with_offers(definition_from(form, stages), sections)
        if existing is None:
            challenge = catalogue.create(made, actor=actor(request))
            return (
                challenge,
                f"Challenge {challenge.name} drafted (v1). Review it, then publish it.",
            )
        draft = catalogue.save_draft(existing.pk, made, actor=actor(request))
        return existing, (
            f"Draft v{draft.number} of {draft.spec.name} saved. "
            "Compare it with the published version, then publish it."
        )

    def page(status: int) -> HttpResponse:
        return render(
            request,
            "challenges/challenge_form.html",
            {
                "existing": existing,
                "source": source,
                "form": form,
                "stages": [(number, stage) for number, stage in enumerate(stages, start=1)],
                "faults": form_faults(form, stages) + offer_faults(sections),
                "payouts": sections["payouts"],
                "retry": sections["retry"],
                "reset": sections["reset"],
                "time_zones": TIME_ZONES,
                "presets": PRESETS.values() if existing is None else (),
                "preset": preset,
                "preset_error": unknown_preset,
            },
            status=unknown_preset.status if unknown_preset and status == 200 else status,
        )

    def faults(error: ValidationFailed) -> None:
        rest = apply_offer_errors(error, sections)
        if rest.fields or not error.fields:  # not only the offers' faults
            apply_definition_errors(rest, form, stages)

    return edit_form(
        request,
        form,
        save,
        also=[*stages, *sections.values()],
        faults=faults,
        refused=(DomainError,),
        saved=lambda done: done[1],
        then=lambda done: redirect("backoffice:challenge", challenge_id=done[0].pk),
        page=page,
    )


@require_http_methods(["GET", "POST"])
@staff_view(CHALLENGES_MANAGE)
def challenge_new(request: HttpRequest) -> HttpResponse:
    """`?preset=futures` fills the form with a preset (presets.py) to edit before saving."""
    key = request.GET.get("preset", "") if request.method == "GET" else ""
    if not key:
        return _form_page(request, None, None)
    try:
        return _form_page(request, None, preset_spec(key), preset=key)
    except DomainError as exc:  # not a preset: the empty form, saying so
        return _form_page(request, None, None, unknown_preset=exc)


@require_http_methods(["GET", "POST"])
@staff_view(CHALLENGES_MANAGE)
def challenge_edit(request: HttpRequest, challenge_id: int) -> HttpResponse:
    challenge = catalogue.get(challenge_id)
    if challenge.status == Challenge.Status.ENDED:
        messages.error(request, "An ended challenge is not edited; duplicate it instead.")
        return redirect("backoffice:challenge", challenge_id=challenge.pk)
    source = challenge.draft() or challenge.published()
    return _form_page(request, challenge, source.spec if source else None, source=source)


@require_POST
@staff_view(CHALLENGES_MANAGE)
def challenge_publish(request: HttpRequest, challenge_id: int) -> HttpResponse:
    challenge = catalogue.get(challenge_id)
    try:
        version, changes = catalogue.publish(
            challenge.pk, actor=actor(request), expected=request.POST.get("digest", "")
        )
    except DomainError as exc:
        return _challenge_page(request, catalogue.get(challenge.pk), error=exc)
    count = len(changes)
    messages.success(
        request,
        f"Version {version.number} of {version.spec.name} is published "
        f"({count} change{'' if count == 1 else 's'}). Participants who started an earlier "
        "version keep their rules.",
    )
    return redirect("backoffice:challenge", challenge_id=challenge.pk)


@require_POST
@staff_view(CHALLENGES_MANAGE)
def challenge_duplicate(request: HttpRequest, challenge_id: int) -> HttpResponse:
    challenge = catalogue.get(challenge_id)
    if not challenge.versions.exists():  # ended before it was published: nothing to copy
        return _challenge_page(
            request, challenge, error=Conflict("This challenge has no definition left to copy.")
        )
    try:
        copy = catalogue.duplicate(challenge.pk, actor=actor(request))
    except DomainError as exc:
        return _challenge_page(request, challenge, error=exc)
    messages.success(request, f"{copy.name} made as a draft from {challenge.name}.")
    return redirect("backoffice:challenge", challenge_id=copy.pk)


@require_http_methods(["GET", "POST"])
@staff_view(CHALLENGES_MANAGE)
def challenge_end(request: HttpRequest, challenge_id: int) -> HttpResponse:
    """GET asks for the confirmation; the POST ends the challenge."""
    challenge = catalogue.get(challenge_id)
    if request.method == "POST":
        try:
            catalogue.end(challenge.pk, actor=actor(request))
        except DomainError as exc:
            return _challenge_page(request, catalogue.get(challenge.pk), error=exc)
        messages.success(
            request,
            f"{challenge.name} is ended: no new participants; those running it go on with "
            "their version.",
        )
        return redirect("backoffice:challenge", challenge_id=challenge.pk)
    return render(
        request,
        "challenges/challenge_end.html",
        {"challenge": challenge, "draft": challenge.draft()},
    )


@require_POST
@staff_view(CHALLENGES_MANAGE)
def challenge_alerts(request: HttpRequest, challenge_id: int) -> HttpResponse:
    """Save the challenge's alerts (docs/notifications.md)."""
    challenge = catalogue.get(challenge_id)
    given = {name: request.POST.get(name, "") for name in alert_settings.FIELDS}
    # The form sends each field once (empty: off); one missing or sent twice is not the form's,
    # and switches nothing off by accident.
    odd = {
        name: "Send this field once (empty: off)."
        for name in alert_settings.FIELDS
        if len(request.POST.getlist(name)) != 1
    }
    try:
        if odd:
            raise ValidationFailed(
                "The alerts were not saved: check the fields shown under Alerts.", fields=odd
            )
        alert_settings.set_alerts(challenge.pk, given, actor=actor(request))
    except DomainError as exc:
        return _challenge_page(request, challenge, error=exc, alert_values=given)
    messages.success(request, f"Alerts of {challenge.name} saved: the monitor applies them now.")
    return redirect("backoffice:challenge", challenge_id=challenge.pk)
