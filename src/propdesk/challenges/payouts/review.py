"""What the reviewer of a payout sees: the profit since the last payout and its split, each
condition of the schedule with its figure (as the trader asked, and as the stage stands now),
the stage's curve and the account's trade history."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Payout
from propdesk.challenges.monitoring import curve, progress
from propdesk.challenges.participation import trade_history
from propdesk.challenges.payouts import eligibility
from propdesk.challenges.payouts import services as payouts
from propdesk.core.templatetags.money import money
from propdesk.platforms import services as platform_services
from propdesk.platforms.models import PlatformCommand

HISTORY_SHOWN = 200  # the newest deals on the review page


def _payout(request: ApprovalRequest) -> Payout | None:
    return (
        Payout.objects.select_related(
            "attempt__participation__version", "attempt__server", "client__user", "entry"
        )
        .filter(pk=request.payload.get("payout_id"))
        .first()
    )


def details(request: ApprovalRequest) -> list[tuple[str, str]]:
    payout = _payout(request)
    if payout is None:
        return []
    currency = payout.currency
    attempt = payout.attempt
    spec = attempt.participation.version.spec
    return [
        (
            "Challenge",
            f"{spec.name} ({attempt.participation.reference}), live account {attempt.login}",
        ),
        ("Profit since the last payout", f"{money(payout.profit, currency)} {currency}"),
        (
            "Split",
            f"trader {payout.share_pct.normalize():f}%: {money(payout.trader_share, currency)} "
            f"{currency} · firm: {money(payout.firm_share, currency)} {currency}",
        ),
        ("Schedule", eligibility.timing_words(payouts.schedule_of(attempt.participation))),
        ("Status", payout.get_status_display()),
    ]


def _of_the_trader(condition: dict[str, Any]) -> dict[str, Any]:
    """A condition as the trader read it ("Your share ...", "... when you ask"), said of the
    trader for the reviewer."""
    label = str(condition.get("label", ""))
    if label.startswith("Your share"):
        label = "The trader's share" + label.removeprefix("Your share")
    elif condition.get("key") == eligibility.NO_OPEN_POSITIONS:
        label = "No open positions when the trader asked"
    return {**condition, "label": label}


def context(request: ApprovalRequest) -> dict[str, Any]:
    payout = _payout(request)
    if payout is None:
        return {}
    attempt = payout.attempt
    now = None
    if request.is_pending and payouts.measured(attempt):
        now = payouts.check(attempt, payouts.read_account(attempt))
    # Newest first whatever order the platform gives them in (the sandbox's newest first,
    # Match-Trader's oldest first), as the participant page and the trader's Trades tab.
    history = trade_history.read(attempt)
    deals = history.deals[:HISTORY_SHOWN]
    unavailable = history.unavailable
    digits = platform_services.price_digits() if deals else {}
    figures = progress.figures(attempt)
    chart = curve.chart_data(attempt, figures, payout.currency)
    return {
        "payout": {
            "p": payout,
            "asked": [_of_the_trader(c) for c in payout.figures.get("conditions", [])],
            "asked_profit": payout.figures.get("asked_profit"),
            "now": now,
            "deals": [(d, digits.get(d.symbol, 5)) for d in deals],  # prices to its digits
            "history_unavailable": unavailable,
            "chart": chart,
            "chart_words": curve.in_words(chart),
            "participant_url": reverse(
                "backoffice:participant", kwargs={"participation_id": attempt.participation_id}
            ),
        }
    }


def of_participation(participation_id: int) -> list[dict[str, Any]]:
    """The participation's payouts for its page in the back office, newest first, each with
    its approval request (to open it) and the platform command that takes the profit off."""
    found = list(
        Payout.objects.filter(attempt__participation_id=participation_id).order_by(
            "-requested_at", "-id"
        )
    )
    requests = dict(
        ApprovalRequest.objects.filter(
            type_key=payouts.PAYOUT, payload__payout_id__in=[p.pk for p in found]
        ).values_list("payload__payout_id", "pk")
    )
    commands = dict(
        PlatformCommand.objects.filter(
            key__in=[f"balance:payout:{p.pk}" for p in found]
        ).values_list("key", "status")
    )
    return [
        {
            "p": payout,
            "request_id": requests.get(payout.pk),
            "command": commands.get(f"balance:payout:{payout.pk}", ""),
        }
        for payout in found
    ]
