"""Back office > Settings > Client groups: the groups with their member counts (add, edit the
description, choose the default, delete an unused one), the registration rules, and moving
clients into a group (one from the client's page, many from the clients list)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts import groups
from propdesk.accounts.models import ClientGroup, GroupRule
from propdesk.accounts.permissions import CLIENTS_GROUPS
from propdesk.core.errors import DomainError
from propdesk.core.web import actor, edit_form, staff_view


class GroupForm(forms.Form):
    name = forms.CharField(
        max_length=200,  # the use case says "at most 60" in its own words
        help_text="Kept as first written: challenges and other settings refer to it.",
    )
    description = forms.CharField(max_length=500, required=False)


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=GroupRule.Kind.choices, label="When the new client's")
    value = forms.CharField(
        max_length=200,
        label="is",
        help_text="A country code (CZ, GB), a referrer's referral code or a promotional "
        "link's code.",
    )
    group = forms.ModelChoiceField(queryset=ClientGroup.objects.all(), label="they join")
    position = forms.IntegerField(
        min_value=0, max_value=10000, initial=0, help_text="Rules are tried from the lowest."
    )


class AssignForm(forms.Form):
    group = forms.ModelChoiceField(queryset=ClientGroup.objects.all(), empty_label="Choose…")


@staff_view(CLIENTS_GROUPS)
def client_groups(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/client_groups.html",
        {
            "groups": groups.groups_with_counts(),
            "rules": GroupRule.objects.select_related("group"),
            "rule_form": RuleForm(),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_view(CLIENTS_GROUPS)
def client_group_edit(request: HttpRequest, group_id: int | None = None) -> HttpResponse:
    group = get_object_or_404(ClientGroup, pk=group_id) if group_id is not None else None
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None and group is not None:
        data["name"] = group.name  # never renamed: the field is shown, not taken
    form = GroupForm(
        data, initial={"name": group.name, "description": group.description} if group else {}
    )
    if group is not None:
        form.fields["name"].disabled = True
    return edit_form(
        request,
        form,
        lambda d: groups.save_group(
            group.pk if group else None,
            name=None if group else d["name"],
            description=d["description"],
            actor=actor(request),
        ),
        saved=lambda saved: f"Client group {saved.name} saved.",
        then="backoffice:client_groups",
        template="accounts/client_group_edit.html",
        context={"group": group},
    )


@require_POST
@staff_view(CLIENTS_GROUPS)
def client_group_default(request: HttpRequest, group_id: int) -> HttpResponse:
    group = groups.set_default(group_id, actor=actor(request))
    messages.success(request, f"New clients now join {group.name}.")
    return redirect("backoffice:client_groups")


@require_POST
@staff_view(CLIENTS_GROUPS)
def client_group_delete(request: HttpRequest, group_id: int) -> HttpResponse:
    group = groups.get(group_id)
    try:
        groups.delete_group(group.pk, actor=actor(request))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Client group {group.name} deleted.")
    return redirect("backoffice:client_groups")


@require_http_methods(["GET", "POST"])
@staff_view(CLIENTS_GROUPS)
def group_rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rule = get_object_or_404(GroupRule, pk=rule_id) if rule_id is not None else None
    initial = (
        {"kind": rule.kind, "value": rule.value, "group": rule.group, "position": rule.position}
        if rule
        else {"position": 0}
    )
    return edit_form(
        request,
        RuleForm(request.POST or None, initial=initial),
        lambda d: groups.save_rule(
            rule.pk if rule else None,
            kind=d["kind"],
            value=d["value"],
            group=d["group"].pk,
            position=d["position"],
            actor=actor(request),
        ),
        saved="Registration rule saved.",
        then="backoffice:client_groups",
        template="accounts/group_rule_edit.html",
        context={"rule": rule},
    )


@require_POST
@staff_view(CLIENTS_GROUPS)
def group_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    groups.delete_rule(rule_id, actor=actor(request))
    messages.success(request, "Registration rule deleted.")
    return redirect("backoffice:client_groups")


@require_POST
@staff_view(CLIENTS_GROUPS)
def client_group_assign(request: HttpRequest, client_id: int) -> HttpResponse:
    """The client's page: move this client to another group."""
    try:
        moved = groups.assign([client_id], request.POST.get("group"), actor=actor(request))
    except DomainError as exc:
        messages.error(request, "; ".join(exc.fields.values()) if exc.fields else exc.message)
    else:
        group = groups.get(request.POST.get("group"))
        messages.success(
            request, f"Moved to {group.name}." if moved else f"Already in {group.name}."
        )
    return redirect(reverse("backoffice:client", kwargs={"client_id": client_id}))


@require_POST
@staff_view(CLIENTS_GROUPS)
def clients_assign(request: HttpRequest) -> HttpResponse:
    """The clients list: move the clients ticked to one group."""
    back = request.POST.get("next", "")
    if not back.startswith("/backoffice/clients/") or "//" in back or "\\" in back:
        back = reverse("backoffice:clients")
    try:
        moved = groups.assign(
            request.POST.getlist("clients"), request.POST.get("group"), actor=actor(request)
        )
    except DomainError as exc:
        messages.error(request, "; ".join(exc.fields.values()) if exc.fields else exc.message)
    else:
        group = groups.get(request.POST.get("group"))
        messages.success(request, f"{moved} client{'s' if moved != 1 else ''} moved to {group}.")
    return redirect(back)
