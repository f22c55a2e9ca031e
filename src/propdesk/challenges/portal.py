"""Portal pages: Prop Trading > New (the published challenges a client may start, their
details and Start now) and My challenges (the client's own participations and their trading
credentials). Starting goes through participation.start, the one use case that charges."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from propdesk.challenges import catalogue, participation
from propdesk.challenges.catalogue import PAYMENT_WAYS
from propdesk.challenges.models import ChallengeVersion, Participation
from propdesk.challenges.wording import amount_text, rule_lines
from propdesk.core.errors import DomainError, ValidationFailed
from propdesk.core.money import quantize
from propdesk.core.web import actor, apply_errors, client_view
from propdesk.wallet import ledger

PAYMENT_WAY_WORDS = {
    "wallet": "Wallet deduction: the fee is taken from your wallet",
    "direct": "Direct purchase",
}
# Only the wallet is open today; the others are shown, disabled, as coming soon.
OPEN_PAYMENT_WAYS = ("wallet",)
TAG_LONGEST = 30


# --- how a challenge reads to a client -----------------------------------------------------------


def stage_summary(stage: dict[str, Any]) -> str:
    """One line a stage: "Challenge · demo · 100,000 · target 8% · daily loss 5% · max loss
    10%", "Funded · live · 100,000 · max loss 10% · 80% profit share"."""
    rules = stage.get("rules") or {}
    parts = [str(stage.get("name")), str(stage.get("kind")), amount_text(stage.get("balance"))]
    if rules.get("profit_target_pct"):
        parts.append(f"target {rules['profit_target_pct']}%")
    if rules.get("max_daily_loss"):
        parts.append(f"daily loss {rules['max_daily_loss'].get('pct')}%")
    if rules.get("max_loss"):
        parts.append(f"max loss {rules['max_loss'].get('pct')}%")
    if stage.get("profit_share_pct"):
        parts.append(f"{stage['profit_share_pct']}% profit share")
    return " · ".join(parts)


def card(version: ChallengeVersion) -> dict[str, Any]:
    definition = version.definition
    return {
        "challenge_id": version.challenge_id,
        "d": definition,
        "stages": [stage_summary(stage) for stage in definition["stages"]],
    }


def all_tags(versions: list[ChallengeVersion]) -> list[str]:
    seen: dict[str, str] = {}
    for version in versions:
        for tag in version.definition.get("tags", []):
            seen.setdefault(tag.lower(), tag)
    return sorted(seen.values(), key=str.lower)


# --- Prop Trading > New --------------------------------------------------------------------------


@client_view
def challenges(request: HttpRequest) -> HttpResponse:
    tag = request.GET.get("tag", "").strip()[:TAG_LONGEST]
    every = catalogue.published_catalogue()
    shown = [version for version in every if catalogue.is_offered(version, tag=tag)]
    return render(
        request,
        "challenges/portal_challenges.html",
        {"cards": [card(version) for version in shown], "tags": all_tags(every), "tag": tag},
    )


class StartForm(forms.Form):
    payment = forms.ChoiceField(choices=[(way, way) for way in PAYMENT_WAYS])
    # One key per rendered form: a double click or a resubmitted page charges once.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


def _detail_page(
    request: HttpRequest,
    version: ChallengeVersion,
    form: StartForm,
    *,
    error: DomainError | None = None,
) -> HttpResponse:
    definition = version.definition
    currency = definition["currency"]
    held = ledger.balances(actor(request).client).get(currency, Decimal(0))
    fee = Decimal(definition["fee"])
    ways = [
        {
            "value": way,
            "label": PAYMENT_WAY_WORDS.get(way, way),
            "open": way in OPEN_PAYMENT_WAYS,
        }
        for way in definition["payment_ways"]
    ]
    status = 200
    if error is not None:
        status = error.status
    elif form.errors:
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
                    "balance": amount_text(stage["balance"]),
                    "rules": rule_lines(stage["rules"]),
                }
                for number, stage in enumerate(definition["stages"], start=1)
            ],
            "ways": ways,
            "can_start": any(way["open"] for way in ways),
            "balance": quantize(held, currency),
            "short_by": quantize(fee - held, currency) if held < fee else None,
            "form": form,
            "chosen": form["payment"].value() or "wallet",
            "error": error,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@client_view
def challenge(request: HttpRequest, challenge_id: int) -> HttpResponse:
    version = catalogue.offered(challenge_id)
    if request.method != "POST":
        form = StartForm(initial={"idempotency_key": uuid.uuid4().hex, "payment": "wallet"})
        return _detail_page(request, version, form)
    form = StartForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, version, form)
    try:
        made = participation.start(
            actor(request).client,
            version.challenge_id,
            payment=form.cleaned_data["payment"],
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except ValidationFailed as exc:
        apply_errors(form, exc)
        return _detail_page(request, version, form)
    except DomainError as exc:
        return _detail_page(request, version, form, error=exc)
    messages.success(
        request,
        f"You joined {made.version.definition['name']}: {made.fee} {made.currency} was paid "
        "from your wallet.",
    )
    return redirect("portal:my_challenge", participation_id=made.pk)


# --- My challenges -------------------------------------------------------------------------------


def row(item: Participation) -> dict[str, Any]:
    stages = item.version.definition["stages"]
    attempt = item.current_attempt()
    return {
        "p": item,
        "name": item.version.definition["name"],
        "stage_count": len(stages),
        "attempt": attempt,
        "stage": stages[attempt.stage] if attempt else None,
        "stage_number": attempt.stage + 1 if attempt else None,
    }


@client_view
def my_challenges(request: HttpRequest) -> HttpResponse:
    mine = participation.for_client(actor(request).client)
    return render(request, "challenges/portal_my_challenges.html", {"rows": [row(p) for p in mine]})


@never_cache  # the page shows a trading password
@client_view
def my_challenge(request: HttpRequest, participation_id: int) -> HttpResponse:
    client = actor(request).client
    item = participation.get_own(client, participation_id)
    shown = row(item)
    return render(
        request,
        "challenges/portal_my_challenge.html",
        {
            **shown,
            "rules": rule_lines(shown["stage"]["rules"]) if shown["stage"] else [],
            "credentials": participation.credentials(item, client),
        },
    )
