"""Back office > Clients: the list, a client's page (with the panels other apps add to it), and
suspending or reactivating a client."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from propdesk.accounts import services as accounts
from propdesk.accounts.models import Client, ClientGroup
from propdesk.accounts.permissions import (
    CLIENTS_GROUPS,
    CLIENTS_MANAGE,
    CLIENTS_NOTE,
    CLIENTS_VIEW,
)
from propdesk.core import panels
from propdesk.core.errors import DomainError, ValidationFailed
from propdesk.core.validation import parse_id, search_text
from propdesk.core.web import actor, staff_view


@staff_view(CLIENTS_VIEW)
def clients(request: HttpRequest) -> HttpResponse:
    rows = Client.objects.select_related("user", "group")
    status = request.GET.get("status", "")
    group = parse_id(request.GET.get("group"))
    if group is not None:
        rows = rows.filter(group_id=group)
    kind = request.GET.get("kind", "")
    kyc_status = request.GET.get("kyc", "")
    query = search_text(request.GET.get("q"))
    if status in Client.Status.values:
        rows = rows.filter(status=status)
    if kind in Client.Kind.values:
        rows = rows.filter(kind=kind)
    if kyc_status in Client.KycStatus.values:
        rows = rows.filter(kyc_status=kyc_status)
    if query:
        rows = rows.filter(
            Q(user__email__icontains=query)
            | Q(user__name__icontains=query)
            | Q(phone__contains=query)
        )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/clients.html",
        {
            "page": page,
            "status": status,
            "kind": kind,
            "q": query,
            "statuses": Client.Status.choices,
            "kinds": Client.Kind.choices,
            "kyc_status": kyc_status,
            "kyc_statuses": Client.KycStatus.choices,
            "group": group,
            "groups": ClientGroup.objects.all(),
            "can_group": actor(request).has_permission(CLIENTS_GROUPS),
            "here": request.get_full_path(),
        },
    )


@staff_view(CLIENTS_VIEW)
def client_detail(
    request: HttpRequest, client_id: int, note_form: ClientNoteForm | None = None, status: int = 200
) -> HttpResponse:
    """The client's 360° view: a summary, then each app's section (wallet, challenges, trading
    accounts, KYC, requests), the staff notes, and the heavy actions (suspend) last."""
    client = get_object_or_404(Client.objects.select_related("user", "group"), pk=client_id)
    me = actor(request)
    return render(
        request,
        "accounts/client_detail.html",
        {
            "client": client,
            "can_manage": me.has_permission(CLIENTS_MANAGE),
            "can_note": me.has_permission(CLIENTS_NOTE),
            "can_group": me.has_permission(CLIENTS_GROUPS),
            "groups": ClientGroup.objects.all(),
            "status_form": ClientStatusForm(),
            "firm_zone": settings.TIME_ZONE,
            "note_form": note_form or ClientNoteForm(),
            "notes": accounts.client_notes(client),
            # What other apps show of the client: the summary's figures, then their sections.
            "summary": panels.collect(panels.CLIENT_SUMMARY, request, client),
            "panels": panels.collect(panels.CLIENT, request, client),
        },
        status=status,
    )


class ClientNoteForm(forms.Form):
    text = forms.CharField(
        max_length=accounts.NOTE_MOST,
        label="Note (for staff only)",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@require_POST
@staff_view(CLIENTS_NOTE)
def client_note(request: HttpRequest, client_id: int) -> HttpResponse:
    form = ClientNoteForm(request.POST)
    try:
        accounts.add_client_note(client_id, actor=actor(request), text=form.data.get("text", ""))
    except ValidationFailed as exc:
        for field, message in exc.fields.items():
            form.add_error(field if field in form.fields else None, message)
        return client_detail(request, client_id, note_form=form, status=400)
    messages.success(request, "Note added.")
    return redirect(reverse("backoffice:client", kwargs={"client_id": client_id}) + "#notes")


class ClientStatusForm(forms.Form):
    reason = forms.CharField(max_length=500, required=False, label="Reason (told to the client)")


@require_POST
@staff_view(CLIENTS_MANAGE)
def client_status(request: HttpRequest, client_id: int, action: str) -> HttpResponse:
    if action not in ("suspend", "reactivate"):
        raise Http404("No such action")
    form = ClientStatusForm(request.POST)
    reason = form.data.get("reason", "")
    try:
        client = accounts.set_client_suspended(
            client_id, suspended=action == "suspend", actor=actor(request), reason=reason
        )
    except DomainError as exc:
        messages.error(request, exc.fields.get("reason") or exc.message)
    else:
        said = (
            " They are logged out; their trading accounts cannot log in (so nobody trades on "
            "them) and their challenges are on hold until they are reactivated."
            if client.status == Client.Status.SUSPENDED
            else " Their trading accounts and challenges are open again."
        )
        messages.success(
            request, f"{client.user.name} is now {client.get_status_display().lower()}.{said}"
        )
    return redirect("backoffice:client", client_id=client_id)
