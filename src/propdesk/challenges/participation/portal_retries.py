"""Portal forms for the paid second chances (participation.retries): *Retry* on a failed
challenge (My challenges and its page) and *Reset this stage* on a running one, confirmed.
Each form carries its own idempotency key, so a double click or a resubmitted page charges
once; a refusal shows the challenge's page again with the reason and nothing changed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.participation import portal, portal_challenge, retries
from propdesk.challenges.participation import services as participation
from propdesk.core.errors import DomainError
from propdesk.core.web import actor, client_view, edit_form


class RetryForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)
    # The price on the button: a retry whose price changed since (its discount ended) is not
    # charged at the new one unseen.
    fee = forms.CharField(widget=forms.HiddenInput, max_length=30, required=False)


class ResetForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100)
    attempt = forms.CharField(widget=forms.HiddenInput, max_length=20)  # the stage shown
    confirm = forms.BooleanField(
        label=gettext_lazy("Yes: close my current account and start this stage over for the fee"),
        error_messages={"required": "Tick the box to confirm the reset."},
    )


def _submit(
    request: HttpRequest,
    item: Participation,
    form: forms.Form,
    act: Any,
    done: Any,
) -> HttpResponse:
    refusal: list[DomainError] = []
    return edit_form(
        request,
        form,
        act,
        refused=(DomainError,),
        refusal=refusal.append,
        then=done,
        page=lambda status: portal_challenge.challenge_page(
            request,
            item,
            error=refusal[0] if refusal else None,
            status=status,
            given=form,
        ),
    )


@require_POST
@client_view
def my_challenge_retry(request: HttpRequest, participation_id: int) -> HttpResponse:
    client = actor(request).client
    item = participation.get_own(client, participation_id)  # another's: not found

    def act(data: dict[str, Any]) -> Participation:
        return retries.retry(
            client, item.pk, fee=data["fee"], idempotency_key=data["idempotency_key"]
        )

    def done(made: Participation) -> HttpResponse:
        messages.success(
            request,
            f"You retried {made.version.spec.name}: "
            f"{portal.money_text(made.fee, made.currency)} was paid from your wallet. "
            f"Your new challenge is {made.reference}.",
        )
        return redirect("portal:my_challenge", participation_id=made.pk)

    return _submit(request, item, RetryForm(request.POST), act, done)


@require_POST
@client_view
def my_challenge_reset(request: HttpRequest, participation_id: int) -> HttpResponse:
    client = actor(request).client
    item = participation.get_own(client, participation_id)

    def act(data: dict[str, Any]) -> StageAttempt:
        return retries.reset(
            client,
            item.pk,
            attempt_id=data["attempt"],
            idempotency_key=data["idempotency_key"],
        )

    def done(fresh: StageAttempt) -> HttpResponse:
        offer = item.version.spec.reset
        paid = portal.money_text(offer.fee, item.currency) if offer else ""
        messages.success(
            request,
            f"Stage {fresh.stage + 1} starts over on a new account ({paid} was paid from your "
            "wallet). Its login and password show here as soon as it is open.",
        )
        return redirect("portal:my_challenge", participation_id=item.pk)

    return _submit(request, item, ResetForm(request.POST), act, done)
