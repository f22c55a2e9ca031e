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
from django.views.decorators.http import require_POST

from propdesk.accounts import services as accounts
from propdesk.accounts.models import Client
from propdesk.accounts.permissions import CLIENTS_MANAGE, CLIENTS_VIEW
from propdesk.core import panels
from propdesk.core.errors import DomainError
from propdesk.core.validation import search_text
from propdesk.core.web import actor, staff_view


@staff_view(CLIENTS_VIEW)
def clients(request: HttpRequest) -> HttpResponse:
    rows = Client.objects.select_related("user")
    status = request.GET.get("status", "")
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
        },
    )


@staff_view(CLIENTS_VIEW)
def client_detail(request: HttpRequest, client_id: int) -> HttpResponse:
    client = get_object_or_404(Client.objects.select_related("user"), pk=client_id)
    me = actor(request)
    return render(
        request,
        "accounts/client_detail.html",
        {
            "client": client,
            "can_manage": me.has_permission(CLIENTS_MANAGE),
            "status_form": ClientStatusForm(),
            "firm_zone": settings.TIME_ZONE,
            # What other apps show of the client: wallet, KYC, requests, ...
            "panels": panels.collect(panels.CLIENT, request, client),
        },
    )


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
