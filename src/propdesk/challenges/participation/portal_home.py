"""The portal home's panel of prop trading (registered on `panels.PORTAL_HOME`): the one next
thing to do (participation.standing) and the client's challenges, each with its stage, status
and a one-line summary of where it stands. The status line is shared with My challenges."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext

from propdesk.accounts import zones
from propdesk.accounts.models import Client
from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.challenges.participation import lifecycle, notices, standing
from propdesk.challenges.participation import services as participation
from propdesk.core.templatetags.money import money

SHOWN = 10  # the latest participations on the home page (My challenges has them all)


def under_review(item: Participation, request: ApprovalRequest, zone: ZoneInfo) -> dict[str, str]:
    """What a stage waiting for its next one says instead of the terminal and credentials
    (since when, in `zone`: the client's)."""
    number = int(request.payload.get("stage", 0))
    stages = item.version.spec.stages
    name = stages[number].name if number < len(stages) else gettext("the next stage")
    if request.type_key == lifecycle.LIVE_STEP:
        what = gettext("Your live step (stage %(number)s: %(name)s) is under review") % {
            "number": number + 1,
            "name": name,
        }
        then = gettext(
            "The firm reviews your results. Once approved, your live account's credentials "
            "appear here; if not, the challenge ends."
        )
    else:
        what = gettext("Stage %(number)s (%(name)s) is under review") % {
            "number": number + 1,
            "name": name,
        }
        then = gettext("Once approved, the stage's new account and its credentials appear here.")
    return {
        "what": what,
        "since": standing.since_text(request.created_at, zone=zone),
        "then": then,
    }


def status_line(
    item: Participation,
    attempt: StageAttempt | None,
    review: dict[str, str] | None,
    now: datetime,
    zone: ZoneInfo,
) -> str:
    """Where a participation stands, in one line, its times in `zone` (the client's)."""
    if review is not None:
        return gettext("%(what)s, since %(since)s.") % review
    status = item.status
    if status == Participation.Status.PENDING_PAYMENT:
        return gettext("Waiting for your payment of %(amount)s.") % {
            "amount": f"{money(item.fee, item.currency)} {item.currency}"
        }
    if status == Participation.Status.PENDING_APPROVAL:
        return gettext("Waiting for the firm's approval: your first stage opens then.")
    if attempt is None:
        return item.get_status_display()
    if attempt.status == StageAttempt.Status.IN_PROGRESS:
        reached = progress.outlook(attempt, now, zone=zone)
        if reached:
            return reached
        if attempt.paused:
            return notices.headline(attempt, zone) or gettext("Paused until the day reset.")
        f = progress.figures(attempt)
        if f is None:
            return gettext("In progress.")
        parts = []
        if f.target_progress_pct is not None:
            pct = formats.number_format(f.target_progress_pct, use_l10n=True)
            parts.append(gettext("%(pct)s%% of the profit target") % {"pct": pct})
        if f.min_trading_days and attempt.kind != "live":
            parts.append(
                ngettext(
                    "%(done)s of %(least)s trading day",
                    "%(done)s of %(least)s trading days",
                    f.min_trading_days,
                )
                % {"done": f.trading_days, "least": f.min_trading_days}
            )
        else:
            parts.append(
                ngettext("%(count)s trading day", "%(count)s trading days", f.trading_days)
                % {"count": f.trading_days}
            )
        return gettext("In progress: %(figures)s.") % {"figures": ", ".join(parts)}
    return notices.headline(attempt, zone) or attempt.get_status_display() + "."


def reviews_for(client: Client) -> dict[int, ApprovalRequest]:
    """The client's pending next-stage and live-step requests, by participation."""
    found: dict[int, ApprovalRequest] = {}
    for request in ApprovalRequest.objects.filter(
        client=client, status=ApprovalRequest.Status.PENDING, type_key__in=standing.NEXT_STAGE
    ).order_by("created_at"):
        pid = request.payload.get("participation_id")
        if isinstance(pid, int):
            found.setdefault(pid, request)
    return found


def home_row(
    item: Participation, review: ApprovalRequest | None, now: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    stages = item.version.spec.stages
    attempt = item.current_attempt()
    shown = under_review(item, review, zone) if review is not None else None
    return {
        "p": item,
        "name": item.version.spec.name,
        "stage": (
            gettext("%(number)s of %(count)s: %(stage)s")
            % {
                "number": attempt.stage + 1,
                "count": len(stages),
                "stage": stages[attempt.stage].name,
            }
            if attempt
            else "—"
        ),
        "status": gettext("Under review") if shown else item.get_status_display(),
        "look": "pending" if shown else item.status,
        "line": status_line(item, attempt, shown, now, zone),
    }


def panel(request: HttpRequest, client: Client) -> dict[str, Any]:
    """The home panel's context: the next step and the latest challenges."""
    now = timezone.now()
    mine = participation.for_client(client)
    facts = standing.facts_for(client, mine)
    reviews = reviews_for(client)
    zone = zones.zone_of(client)
    return {
        "step": standing.decide(facts),
        "rows": [home_row(item, reviews.get(item.pk), now, zone) for item in mine[:SHOWN]],
        "more": max(0, len(mine) - SHOWN),
        # An IB sees it too once they run a challenge (the demo's Ivan does).
        "trader": client.kind == Client.Kind.TRADER or bool(mine),
    }
