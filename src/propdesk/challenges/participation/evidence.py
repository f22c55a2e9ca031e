"""What a reviewer weighs before deciding a challenge's request: for the next stage and the live
step, the performance behind it (each stage's figures against its targets, the evaluator's
verdict, the equity curve of the stage just passed, and any stage a person passed or reinstated
by hand); for a participation, how its fee was paid.

Read only: the monitor's saved figures and verdicts, the curve, the audit trail and the ledger.
The approvals review page shows them with this app's templates (request_types registers them).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Min
from django.urls import reverse

from propdesk.approvals.models import ApprovalRequest
from propdesk.challenges.models import CurvePoint, Participation, StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.challenges.monitoring.curve import chart_data, in_words
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from propdesk.rules.model import (
    INACTIVITY,
    MAX_DAILY_LOSS,
    MAX_LOSS,
    MAX_LOSS_PER_TRADE,
    TRADING_PERIOD,
)
from propdesk.rules.parse import parse_time
from propdesk.wallet import references as entry_references
from propdesk.wallet.models import JournalEntry

RULE_WORDS = {
    MAX_DAILY_LOSS: "Maximum daily loss",
    MAX_LOSS: "Maximum loss",
    MAX_LOSS_PER_TRADE: "Maximum loss per trade",
    TRADING_PERIOD: "Trading period",
    INACTIVITY: "Inactivity",
}
BY_HAND = {
    AuditAction.STAGE_ADVANCE.value: "advanced",
    AuditAction.STAGE_REINSTATE.value: "reinstated",
}
LOOK = {"in_progress": "active", "passed": "approved", "failed": "rejected"}
_HUNDRED = Decimal(100)
_CENT = Decimal("0.01")


def _participation(request: ApprovalRequest) -> Participation:
    return (
        Participation.objects.select_related("client__user", "version", "challenge")
        .prefetch_related("attempts__server")
        .get(pk=request.payload["participation_id"])
    )


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if not whole else (part * _HUNDRED / whole).quantize(_CENT)


def _interventions(attempts: list[StageAttempt]) -> dict[int, list[dict[str, Any]]]:
    """The staff interventions on each stage (advanced, reinstated), oldest first, from the
    audit trail: who, when and why."""
    found: dict[int, list[dict[str, Any]]] = {a.pk: [] for a in attempts}
    records = AuditRecord.objects.filter(
        object_type="stage_attempt",
        object_id__in=[str(a.pk) for a in attempts],
        action__in=list(BY_HAND),
    ).order_by("created_at", "id")
    for record in records:
        found[int(record.object_id)].append(
            {
                "what": BY_HAND[record.action],
                "by": record.actor_label,
                "at": record.created_at,
                "summary": record.summary,
            }
        )
    return found


def _verdict(attempt: StageAttempt) -> dict[str, Any]:
    """The evaluator's verdict on an ended stage: passed or failed, when, by which rule, and
    the sentence with its figures; a stage a person ended says so instead."""
    verdict = attempt.verdict or {}
    rule = verdict.get("rule")
    at = verdict.get("at")
    return {
        "status": verdict.get("status") or attempt.status,
        "by_evaluator": bool(verdict),
        "at": parse_time(at) if at else attempt.ended_at,
        "rule": RULE_WORDS.get(rule, rule) if rule else "",
        "sentence": progress.headline(attempt),
    }


def _stage(item: Participation, attempt: StageAttempt, by_hand: list[dict[str, Any]]) -> dict:
    stage = item.version.spec.stages[attempt.stage]
    figures = progress.figures(attempt)
    size = Decimal(stage.balance)
    entry: dict[str, Any] = {
        "a": attempt,
        "number": attempt.stage + 1,
        "name": stage.name,
        # "Stage 2: Verification"; a stage without a name of its own is just "Stage 2".
        "title": f"Stage {attempt.stage + 1}"
        + ("" if stage.name == f"Stage {attempt.stage + 1}" else f": {stage.name}"),
        "look": LOOK.get(attempt.status, "cancelled"),
        "size": size,
        "figures": figures,
        "verdict": _verdict(attempt) if attempt.status != StageAttempt.Status.IN_PROGRESS else None,
        "interventions": by_hand,
        "advanced_by_hand": any(i["what"] == "advanced" for i in by_hand)
        or (attempt.status == StageAttempt.Status.PASSED and attempt.verdict is None),
        "staff_note": attempt.staff_note,
        "lowest_equity": CurvePoint.objects.filter(attempt=attempt).aggregate(low=Min("low"))[
            "low"
        ],
    }
    if figures is not None:
        entry["profit_pct"] = _pct(figures.profit, size)
        if figures.target_balance is not None:
            entry["target_profit"] = figures.target_balance - size
            entry["target_pct"] = _pct(figures.target_balance - size, size)
            entry["target_met"] = figures.balance >= figures.target_balance
        entry["days_met"] = figures.trading_days >= figures.min_trading_days
    return entry


def stage_request_context(request: ApprovalRequest) -> dict[str, Any]:
    """The next stage's and the live step's evidence: every stage so far with its verdict and
    figures, the curve of the stage just passed, and a warning for each one staff passed or
    reinstated by hand."""
    item = _participation(request)
    attempts = sorted(item.attempts.all(), key=lambda a: (a.stage, a.pk))
    by_hand = _interventions(attempts)
    stages = [_stage(item, a, by_hand[a.pk]) for a in attempts]
    latest = stages[-1] if stages else None
    currency = item.currency
    chart = chart_data(
        latest["a"] if latest else None, latest["figures"] if latest else None, currency
    )
    return {
        "evidence": {
            "p": item,
            "name": item.version.spec.name,
            "currency": currency,
            "participant_url": reverse(
                "backoffice:participant", kwargs={"participation_id": item.pk}
            ),
            "stages": stages,
            "latest": latest,
            "by_hand": [s for s in stages if s["advanced_by_hand"] or s["interventions"]],
            "chart": chart,
            "chart_words": in_words(chart),
        }
    }


# --- the participation request: how the fee was paid -------------------------------------------


def fee_context(request: ApprovalRequest) -> dict[str, Any]:
    """How the participation's fee was paid: from the wallet or bought directly through a
    payment provider, the amount, whether it is taken or refunded, the ledger entries and the
    provider's payment id, and when."""
    item = (
        Participation.objects.select_related("fee_entry", "refund_entry", "method", "version")
        .filter(pk=request.payload["participation_id"])
        .first()
    )
    if item is None:
        return {}
    free = item.fee_entry_id is None and item.fee == 0 and bool(item.discount)
    direct = item.payment == Participation.Payment.DIRECT and not free  # free: no checkout
    payment_entry = None
    if direct and item.provider_payment_id:
        # The payment's first arrival in the wallet (wallet.payments; paid_online.settle).
        payment_entry = (
            JournalEntry.objects.filter(
                idempotency_key__startswith="payment:", client=item.client_id
            )
            .filter(memo__contains=f"for participation {item.reference}")
            .order_by("pk")
            .first()
        )
    if item.refund_entry_id:
        status, look = "Refunded to the wallet", "rejected"
    elif item.fee_entry_id:
        status, look = "Charged", "approved"
    elif free:
        status, look = "Nothing to pay: coupons took the whole fee", "approved"
    else:
        status, look = "Not paid yet", "pending"
    return {
        "fee": {
            "p": item,
            "direct": direct,
            "how": (
                "Nothing to pay: coupons took the whole fee"
                if free
                else f"Direct purchase through {item.method.name}"
                f" ({item.method.get_provider_display()})"
                if direct and item.method
                else "Deducted from the client's wallet"
            ),
            "status": status,
            "look": look,
            "payment_entry": payment_entry,
            # what the ledger calls it (the fee and its refund carry the participation's own)
            "payment_reference": (
                entry_references.for_entries([payment_entry.pk]).get(payment_entry.pk, "")
                if payment_entry
                else ""
            ),
            "participant_url": reverse(
                "backoffice:participant", kwargs={"participation_id": item.pk}
            ),
        }
    }
