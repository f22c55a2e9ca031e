"""What a certificate says, in words: its title, the achievement and the figures' lines, read
only from what was fixed at issue (`Certificate.figures`). The public page, the portal's list
and the PDF all say it this way."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext

from propdesk.challenges.models import Certificate
from propdesk.core.templatetags.money import money


@dataclass(frozen=True)
class Wording:
    kind: str
    title: str
    firm: str
    trader: str
    achievement: str  # after the trader's name: "passed stage 1 of 3 (Challenge) in ..."
    subject: str  # what it is for, in a list: "Stage 1 of 3 (Challenge)", "Payout of 800.00 USD"
    rows: list[tuple[str, str]]  # the figures: (label, value)
    issued_on: str
    reference: str


def of(certificate: Certificate) -> Wording:
    f: dict[str, Any] = certificate.figures
    currency = str(f.get("currency", ""))
    challenge = str(f.get("challenge", ""))
    number, name = f.get("stage_number"), str(f.get("stage", ""))
    count = f.get("stage_count")
    named = bool(name) and name.lower() != f"stage {number}"  # "Stage 1" says no more
    said = {"number": number, "count": count, "name": name}
    if named:
        stage = gettext("stage %(number)s of %(count)s (%(name)s)") % said
        which = gettext("Stage %(number)s of %(count)s (%(name)s)") % said
    else:
        stage = gettext("stage %(number)s of %(count)s") % said
        which = gettext("Stage %(number)s of %(count)s") % said
    rows = [(gettext("Challenge"), challenge)]
    if certificate.kind == Certificate.Kind.PAYOUT:
        title = gettext("Payout certificate")
        paid = _amount(f.get("amount"), currency)
        achievement = gettext(
            "received a payout of %(amount)s as a funded trader in %(challenge)s."
        ) % {"amount": paid, "challenge": challenge}
        subject = gettext("Payout of %(amount)s") % {"amount": paid}
        rows += [
            (gettext("Stage"), which),  # the stage paid from, as an achievement certificate says
            (gettext("Account size"), _amount(f.get("account_size"), currency)),
            (gettext("Paid to the trader"), paid),
            (gettext("Profit share"), f"{_pct(f.get('share_pct'))}%"),
            (gettext("Paid on"), str(f.get("paid_on", ""))),
        ]
    else:
        title = gettext("Certificate of achievement")
        achievement = gettext("passed %(stage)s in %(challenge)s.") % {
            "stage": stage,
            "challenge": challenge,
        }
        subject = which
        rows += [
            (gettext("Stage"), which),
            (gettext("Account size"), _amount(f.get("account_size"), currency)),
        ]
        if "profit" in f:
            profit = _amount(f["profit"], currency)
            rows.append((gettext("Profit reached"), f"{profit} ({_pct(f.get('profit_pct'))}%)"))
        rows += [
            (gettext("Started"), str(f.get("started_on", ""))),
            (gettext("Passed"), str(f.get("passed_on", ""))),
        ]
    return Wording(
        kind=certificate.kind,
        title=title,
        firm=str(f.get("firm", "")),
        trader=str(f.get("trader", "")),
        achievement=achievement,
        subject=subject,
        rows=rows,
        issued_on=str(f.get("issued_on", "")),
        reference=str(f.get("reference", certificate.reference)),
    )


def verification_url(certificate: Certificate) -> str:
    """Where anyone checks it: the site's address (PROPDESK_SITE_URL) and its public page."""
    path = reverse("certificate", kwargs={"code": certificate.code})
    return settings.PROPDESK_SITE_URL.rstrip("/") + path


def _amount(value: Any, currency: str) -> str:
    return f"{money(value, currency)} {currency}".strip()


def _pct(value: Any) -> str:
    """80.00 as 80, 8.50 as 8.5."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    shown = f"{number.normalize():f}"
    return "0" if shown in ("-0", "0") else shown
