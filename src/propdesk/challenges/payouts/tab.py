"""What the Payouts tab of a funded challenge's page in the portal shows: the payout terms, the
next date a payout may be asked for, each condition of the schedule met or not with its figure,
the form to ask, and every payout so far (a rejection's reason with it)."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext

from propdesk.accounts.models import Client
from propdesk.challenges.models import Participation, Payout
from propdesk.challenges.payouts import eligibility
from propdesk.challenges.payouts import services as payouts


class RequestForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)


def fresh_form() -> RequestForm:
    return RequestForm(initial={"idempotency_key": uuid.uuid4().hex})


def context(
    client: Client, item: Participation, *, form: RequestForm | None = None, error: str = ""
) -> dict[str, Any]:
    """The tab's figures (the platform asked for the open positions and the trade history,
    outside any transaction)."""
    attempt = item.current_attempt()
    schedule = payouts.schedule_of(item)
    live = next((s for s in item.version.spec.stages if s.is_live), None)
    found = None
    refused = gettext("This challenge has no funded stage yet.") if attempt is None else ""
    if attempt is not None:
        refused = payouts.refusal(attempt)
        if payouts.measured(attempt):
            found = payouts.check(attempt, payouts.read_account(attempt))
    return {
        "payout_tab": {
            "form": form or fresh_form(),
            "error": error,
            "refused": refused,
            "found": found,
            "share_pct": live.profit_share_pct if live is not None else None,
            "schedule_words": eligibility.timing_words(schedule),
            "min_payout": schedule.min_payout,
            "payouts": Payout.objects.filter(attempt__participation=item, client=client),
            "action": reverse("portal:my_challenge_payouts", kwargs={"participation_id": item.pk}),
        }
    }
