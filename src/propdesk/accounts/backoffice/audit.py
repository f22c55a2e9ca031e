"""Back office > Settings > Audit log: every staff decision and settings change."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from propdesk.accounts.permissions import AUDIT_VIEW
from propdesk.core.models import AuditRecord
from propdesk.core.validation import search_text
from propdesk.core.web import actor, staff_view


@staff_view(AUDIT_VIEW)
def audit_log(request: HttpRequest) -> HttpResponse:
    records = AuditRecord.objects.select_related("actor")
    action = search_text(request.GET.get("action"))
    who = search_text(request.GET.get("actor"))
    if action:
        records = records.filter(action__startswith=action)
    if who:
        records = records.filter(actor_label__icontains=who)
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    actions = AuditRecord.objects.values_list("action", flat=True).distinct().order_by("action")
    return render(
        request,
        "accounts/audit.html",
        {
            "page": page,
            "action": action,
            "who": who,
            "actions": list(actions),
            "me": actor(request),
        },
    )
