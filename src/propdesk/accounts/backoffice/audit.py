"""Back office > Settings > Audit log: every staff decision and settings change.

A record keeps the object's fields before and after as JSON (core.audit.snapshot); the log shows
them as a small table of field | before | after, the changed fields marked, each value in words:
yes/no, lists joined, a moment in the firm's time, a long value cut short with the whole of it a
click away. A secret is shown as the record keeps it, and masked if it ever kept one whole."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from propdesk.accounts.permissions import AUDIT_VIEW
from propdesk.core.models import AuditRecord
from propdesk.core.validation import search_text
from propdesk.core.web import actor, staff_view

SHORT = 80  # characters of a value shown before "…" and "show all"
EMPTY = "—"
MASK = "••••••"
_SECRET = re.compile(r"password|secret|token|api_key|private_key", re.IGNORECASE)
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@dataclass(frozen=True)
class Value:
    text: str

    @property
    def short(self) -> str:
        return self.text if len(self.text) <= SHORT else self.text[: SHORT - 1].rstrip() + "…"

    @property
    def cut(self) -> bool:
        return len(self.text) > SHORT


@dataclass(frozen=True)
class Change:
    field: str
    before: Value
    after: Value
    changed: bool


def label(name: str) -> str:
    words = name.replace("_", " ").replace(".", " ").strip()
    return words[:1].upper() + words[1:]


def shown(value: Any, *, name: str = "") -> str:
    """`value` as the record keeps it, in words a person reads."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if name and isinstance(value, str) and _SECRET.search(name):  # a count of them is no secret
        return value if set(value) <= set("*•") else MASK
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ("; " if any(isinstance(v, dict) for v in value) else ", ").join(
            shown(v) for v in value
        )
    if isinstance(value, dict):
        return ", ".join(
            f"{label(str(k)).lower()} {shown(v, name=str(k))}" for k, v in value.items()
        )
    if isinstance(value, str) and _MOMENT.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%Y-%m-%d %H:%M:%S").removesuffix(":00")
    return str(value)


def changes(before: Any, after: Any) -> list[Change]:
    """One row per field either side names, in the order the record keeps them; a created
    object has only an after, a removed one only a before."""
    was = before if isinstance(before, dict) else {}
    now = after if isinstance(after, dict) else {}
    if before is not None and not isinstance(before, dict):
        was = {"value": before}
    if after is not None and not isinstance(after, dict):
        now = {"value": after}
    names = list(dict.fromkeys([*was, *now]))
    return [
        Change(
            field=label(name),
            before=Value(shown(was.get(name), name=name) if name in was else ""),
            after=Value(shown(now.get(name), name=name) if name in now else ""),
            changed=was.get(name) != now.get(name) or (name in was) != (name in now),
        )
        for name in names
    ]


@dataclass(frozen=True)
class Entry:
    record: AuditRecord
    changes: list[Change]


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
    entries = [Entry(r, changes(r.before, r.after)) for r in page.object_list]
    actions = AuditRecord.objects.values_list("action", flat=True).distinct().order_by("action")
    return render(
        request,
        "accounts/audit.html",
        {
            "page": page,
            "entries": entries,
            "action": action,
            "who": who,
            "actions": list(actions),
            "me": actor(request),
        },
    )
