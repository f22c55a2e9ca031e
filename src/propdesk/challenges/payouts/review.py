"""What the reviewer of a payout sees: the profit since the last payout and its split, each
condition of the schedule with its figure (as the trader asked, and as the stage stands now),
the stage's curve and the account's trade history."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Payout
from propdesk.challenges.monitoring import curve, progress
from propdesk.challenges.payouts import eligibility
from propdesk.challenges.payouts import services as payouts
from propdesk.core.templatetags.money import money
from propdesk.platforms import adapters
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.protocol import PlatformError

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


def context(request: ApprovalRequest) -> dict[str, Any]:
    payout = _payout(request)
    if payout is None:
        return {}
    attempt = payout.attempt
    now = None
    if request.is_pending and payouts.measured(attempt):
        now = payouts.check(attempt, payouts.read_account(attempt))
    try:
        deals = list(adapters.platform(attempt.server).trade_history(attempt.login))[
            -HISTORY_SHOWN:
        ][::-1]
        unavailable = ""
    except PlatformError as exc:
        deals, unavailable = [], f"The platform cannot give the trade history right now ({exc})."
    figures = progress.figures(attempt)
    chart = curve.chart_data(attempt, figures, payout.currency)
    return {
        "payout": {
            "p": payout,
            "asked": payout.figures.get("conditions", []),
            "asked_profit": payout.figures.get("asked_profit"),
            "now": now,
            "deals": deals,
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
