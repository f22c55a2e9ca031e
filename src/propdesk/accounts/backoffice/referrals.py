"""Back office: the referral tree. On a client's page, a panel with their referrer and their
downline (with levels) and the form that moves them to another referrer; the client's whole
downline a page at a time; Growth > Referral tree, the referrers at the top of the trees."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from propdesk.accounts import referrals
from propdesk.accounts.models import Client
from propdesk.accounts.permissions import CLIENTS_REFERRALS, CLIENTS_VIEW
from propdesk.core import pagination
from propdesk.core.errors import DomainError
from propdesk.core.web import actor, staff_view

PANEL_ROWS = 20
TAG = "backoffice-downline"


class MoveForm(forms.Form):
    new_referrer = forms.CharField(
        max_length=254,
        required=False,
        label="New referrer",
        help_text="The client's number, email or referral code.",
    )
    to_top = forms.BooleanField(required=False, label="Referred by nobody (the top of a tree)")
    with_downline = forms.BooleanField(
        required=False,
        initial=True,
        label="With their downline",
        help_text="Unticked: the clients they referred stay with their old referrer.",
    )


def client_panel(request: HttpRequest, client: Client) -> dict[str, Any]:
    """The panel on the client's page: their referrer, the first members of their downline."""
    members, more = referrals.downline(client, limit=PANEL_ROWS)
    return {
        "client": client,
        "referrer": (
            Client.objects.select_related("user").filter(pk=client.referrer_id).first()
            if client.referrer_id is not None
            else None
        ),
        "members": members,
        "more": more is not None,
        "total": referrals.downline_count(client) if members else 0,
        "can_move": actor(request).has_permission(CLIENTS_REFERRALS),
        "move_form": MoveForm(),
    }


@staff_view(CLIENTS_VIEW)
def client_downline(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_object_or_404(Client.objects.select_related("user"), pk=client_id)
    scope = str(client.pk)
    found = pagination.decode(request.GET.get("after"), shape=[int, int], tag=TAG, scope=scope)
    after = (found[0], found[1]) if found is not None else None
    members, more = referrals.downline(client, after=after)
    nxt = pagination.encode(list(more), tag=TAG, scope=scope) if more is not None else None
    return render(
        request,
        "accounts/client_downline.html",
        {
            "client": client,
            "members": members,
            "next": nxt,
            "total": referrals.downline_count(client),
            "most_depth": referrals.MOST_DEPTH,
        },
    )


@require_POST
@staff_view(CLIENTS_REFERRALS)
def client_move_referrer(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_object_or_404(Client.objects.select_related("user"), pk=client_id)
    form = MoveForm(request.POST)
    back = reverse("backoffice:client", kwargs={"client_id": client.pk}) + "#referrals"
    if not form.is_valid():
        messages.error(request, "; ".join(str(e) for errs in form.errors.values() for e in errs))
        return redirect(back)
    data = form.cleaned_data
    try:
        if data["to_top"]:
            if data["new_referrer"]:
                raise DomainError(
                    "Either name a new referrer or tick “referred by nobody”, not both."
                )
            target = None
        else:
            target = referrals.resolve_client(data["new_referrer"])
        referrals.move_client(
            client,
            new_referrer=target,
            with_downline=data["with_downline"],
            actor=actor(request),
        )
    except DomainError as exc:
        messages.error(request, exc.fields.get("new_referrer") or exc.message)
        return redirect(back)
    where = target.name if target is not None else "nobody (the top of a tree)"
    messages.success(
        request,
        f"{client.name} is now referred by {where}"
        + (
            " with their downline."
            if data["with_downline"]
            else "; the clients they referred stay with their old referrer."
        ),
    )
    return redirect(back)


@staff_view(CLIENTS_VIEW)
def referral_tree(request: HttpRequest) -> HttpResponse:
    """Growth > Referral tree: the referrers at the top of the trees, the biggest first."""
    return render(
        request, "accounts/referral_tree.html", {"rows": referrals.top_referrers(limit=200)}
    )
