"""Issuing certificates, and finding them.

A certificate is issued once: a stage's when it passes (participation.lifecycle's `conclude`,
the monitor's pass; participation.interventions' `advance`, staff's), a payout's when it is
paid (the payouts code calls `issue_for_payout`). Asking again gives back the first one (the
table's unique constraints decide a race). What it says is fixed at issue, in `figures`: the
firm's, the trader's and the challenge's names as they were then, and the figures.

Its code is 32 characters of `secrets.token_urlsafe` (192 random bits), never derived from an
id: whoever holds it can check the certificate at its public address (`verify`), nobody can
find one without it. Wrong codes are counted by the login throttle (its realm `cert`, per
address), so guessing is slowed down as well as hopeless.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from propdesk.accounts import throttle
from propdesk.accounts.models import Client
from propdesk.challenges.models import Certificate, Participation, Payout, StageAttempt
from propdesk.challenges.monitoring import progress
from propdesk.core.errors import Conflict, NotFound
from propdesk.core.money import quantum
from propdesk.core.validation import parse_id
from propdesk.rules.figures import Figures

CODE_BYTES = 24  # 192 bits, 32 characters
CODE_LENGTH = 32
_CODE = re.compile(r"[A-Za-z0-9_-]{32}")
REALM = "cert"  # the login throttle's count of wrong codes (accounts.throttle)
NOT_FOUND = "No certificate has this code."
FIGURES_VERSION = 1  # the shape of `figures`, should it ever change
_HUNDRED = Decimal(100)
_PCT = Decimal("0.01")


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def is_code(text: object) -> bool:
    """Whether `text` has a code's shape (nothing is looked up)."""
    return isinstance(text, str) and _CODE.fullmatch(text) is not None


# --- issuing --------------------------------------------------------------------------------------


def issue_for_stage(
    attempt: StageAttempt, *, reached: Figures | None = None, passed_at: datetime | None = None
) -> Certificate:
    """The certificate of a passed stage: the first one if it has one. `reached` are the
    stage's figures at its pass and `passed_at` the instant its rules passed it (the monitor's
    evaluator: a day's close); without them, those of its saved state and the stage's end.
    Call it in the transaction that passes the stage."""
    found = _stage_certificate(attempt.pk)
    if found is not None:
        return found
    if attempt.status != StageAttempt.Status.PASSED:
        raise Conflict("Only a passed stage has a certificate.")
    participation = _participation(attempt)
    definition = participation.version.spec
    balance = definition.stages[attempt.stage].balance
    said = _common(participation, attempt)
    said["started_on"] = _day(attempt.started_at)
    said["passed_on"] = _day(passed_at or attempt.ended_at or timezone.now())
    if reached is None:
        reached = progress.figures(attempt)  # None: its saved state cannot be read
    if reached is not None and reached.as_of is not None:  # else no figures were ever read
        profit = _cents(reached.profit, definition.currency)
        said["profit"] = str(profit)
        said["profit_pct"] = str((profit * _HUNDRED / balance).quantize(_PCT, ROUND_HALF_EVEN))
    return _issue(
        Certificate.Kind.STAGE_PASSED,
        participation.client,
        attempt,
        said,
        again=lambda: _stage_certificate(attempt.pk),
    )


def issue_for_payout(payout: Payout) -> Certificate:
    """The certificate of a paid payout: the first one if it has one. Call it in the
    transaction that marks the payout paid."""
    found = Certificate.objects.filter(payout_id=payout.pk).first()
    if found is not None:
        return found
    if payout.status != Payout.Status.PAID:
        raise Conflict("Only a paid payout has a certificate.")
    attempt = StageAttempt.objects.get(pk=payout.attempt_id)
    participation = _participation(attempt)
    said = _common(participation, attempt)
    said["currency"] = payout.currency
    said["amount"] = str(_cents(payout.trader_share, payout.currency))
    said["share_pct"] = str(payout.share_pct)
    said["paid_on"] = _day(payout.paid_at or timezone.now())
    return _issue(
        Certificate.Kind.PAYOUT,
        participation.client,
        attempt,
        said,
        payout=payout,
        again=lambda: Certificate.objects.filter(payout_id=payout.pk).first(),
    )


def _issue(
    kind: str,
    client: Client,
    attempt: StageAttempt,
    said: dict[str, Any],
    *,
    payout: Payout | None = None,
    again: Callable[[], Certificate | None],
) -> Certificate:
    try:
        with transaction.atomic():  # a savepoint: a lost race leaves the caller's work whole
            made = Certificate.objects.create(
                code=new_code(),
                kind=kind,
                client=client,
                attempt=attempt,
                payout=payout,
                figures=said,
            )
            made.figures = {**said, "reference": made.reference, "issued_on": _day(made.issued_at)}
            made.save(update_fields=["figures"])
    except IntegrityError:
        first = again()  # issued meanwhile by another transaction
        if first is None:
            raise
        return first
    return made


def _stage_certificate(attempt_id: int) -> Certificate | None:
    return Certificate.objects.filter(
        attempt_id=attempt_id, kind=Certificate.Kind.STAGE_PASSED
    ).first()


def _participation(attempt: StageAttempt) -> Participation:
    return Participation.objects.select_related("version", "client__user").get(
        pk=attempt.participation_id
    )


def _common(participation: Participation, attempt: StageAttempt) -> dict[str, Any]:
    definition = participation.version.spec
    stage = definition.stages[attempt.stage]
    return {
        "version": FIGURES_VERSION,
        "firm": settings.PROPDESK_FIRM_NAME,
        "trader": participation.client.user.name,
        "challenge": definition.name,
        "stage": stage.name,
        "stage_number": attempt.stage + 1,
        "stage_count": len(definition.stages),
        "stage_kind": stage.kind.value,
        "account_size": str(_cents(stage.balance, definition.currency)),
        "currency": definition.currency,
    }


def _cents(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(quantum(currency), ROUND_HALF_EVEN)


def _day(at: datetime) -> str:
    """The date of `at` in the firm's time zone, as YYYY-MM-DD."""
    return timezone.localtime(at, timezone.get_default_timezone()).date().isoformat()


# --- finding them ---------------------------------------------------------------------------------


def verify(code: object, *, ip: str | None) -> Certificate:
    """Anyone's look at a certificate by its code (its public page and PDF). A code that is
    malformed, too long or unknown is `NotFound`, all alike, and counted as a failure from the
    address by the login throttle; past its limit every look from there waits (`Throttled`),
    right codes too, so that codes cannot be tried cheaply."""
    bucket = throttle.address_bucket(ip) or "unknown"
    attempt = throttle.Attempt(account=bucket, ip=ip, realm=REALM, account_limit=False)
    found = throttle.guarded(attempt, lambda: _by_code(code))
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


def _by_code(code: object) -> Certificate | None:
    if not is_code(code):
        return None  # not looked up: a code has one shape
    return Certificate.objects.filter(code=code).first()


def own(client: Client, certificate_id: Any) -> Certificate:
    """A client's own certificate; anyone else's is not found."""
    wanted = parse_id(certificate_id)
    found = None if wanted is None else Certificate.objects.filter(pk=wanted, client=client).first()
    if found is None:
        raise NotFound("No such certificate.")
    return found


def get(certificate_id: Any) -> Certificate:
    """A certificate by its id (staff)."""
    wanted = parse_id(certificate_id)
    found = None if wanted is None else Certificate.objects.filter(pk=wanted).first()
    if found is None:
        raise NotFound("No such certificate.")
    return found


def of_participation(
    participation: Participation, *, client: Client | None = None
) -> list[Certificate]:
    """A participation's certificates, oldest first; only `client`'s when one is named."""
    found = Certificate.objects.filter(attempt__participation=participation)
    if client is not None:
        found = found.filter(client=client)
    return list(found.order_by("issued_at", "id"))
