"""Back office > Settings > Staff users and Roles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts import services as accounts
from propdesk.accounts import two_factor
from propdesk.accounts.models import Authenticator, Role, User
from propdesk.accounts.permissions import STAFF_MANAGE
from propdesk.core import permissions
from propdesk.core.errors import DomainError
from propdesk.core.web import actor, edit_form, staff_view


class StaffCreateForm(forms.Form):
    email = forms.CharField(max_length=254)
    name = forms.CharField(max_length=150, required=False)
    role = forms.ModelChoiceField(queryset=Role.objects.all(), to_field_name="name")
    password = forms.CharField(max_length=1024, strip=False, widget=forms.PasswordInput)


class StaffEditForm(forms.Form):
    role = forms.ModelChoiceField(queryset=Role.objects.all())
    is_active = forms.BooleanField(required=False, label="Active (may log in)")


@require_http_methods(["GET", "POST"])
@staff_view(STAFF_MANAGE)
def staff(request: HttpRequest) -> HttpResponse:
    users = (
        User.objects.filter(kind=User.Kind.STAFF)
        .select_related("role")
        .annotate(
            two_factor=Exists(Authenticator.objects.filter(user=OuterRef("pk"), confirmed=True))
        )
    )
    return edit_form(
        request,
        StaffCreateForm(request.POST or None),
        lambda data: accounts.create_staff_user(
            email=data["email"],
            name=data["name"],
            role_name=data["role"].name,
            password=data["password"],
            actor=actor(request),
        ),
        saved=lambda user: f"Staff user {user.email} created.",
        then="backoffice:staff",
        template="accounts/staff.html",
        context={"users": users, "roles": Role.objects.all()},
    )


@require_http_methods(["GET", "POST"])
@staff_view(STAFF_MANAGE)
def staff_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id, kind=User.Kind.STAFF)
    return edit_form(
        request,
        StaffEditForm(
            request.POST or None, initial={"role": user.role_id, "is_active": user.is_active}
        ),
        lambda data: accounts.update_staff_user(
            user.pk, role_id=data["role"].pk, is_active=data["is_active"], actor=actor(request)
        ),
        saved=f"{user.email} saved.",
        then="backoffice:staff",
        template="accounts/staff_edit.html",
        context=lambda: {
            "staff_user": user,
            "two_factor_on": two_factor.is_enrolled(user),
            "is_me": user.pk == actor(request).pk,
            "reset_form": TwoFactorResetForm(),
        },
    )


class TwoFactorResetForm(forms.Form):
    reason = forms.CharField(max_length=500, label="Reason (kept in the audit log)")


@require_POST
@staff_view(STAFF_MANAGE)
def staff_reset_two_factor(request: HttpRequest, user_id: int) -> HttpResponse:
    """A staff member lost their phone: their two-factor login is turned off, so they log in
    with the password and set it up again."""
    form = TwoFactorResetForm(request.POST)
    try:
        user = accounts.reset_two_factor(
            user_id, actor=actor(request), reason=form.data.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, exc.fields.get("reason") or exc.message)
    else:
        messages.success(
            request,
            f"Two-factor login of {user.email} reset: they log in with their password and "
            "set it up again.",
        )
    return redirect("backoffice:staff_edit", user_id=user_id)


# --- roles ---------------------------------------------------------------------------------


class RoleForm(forms.Form):
    name = forms.CharField(max_length=60)
    description = forms.CharField(max_length=200, required=False)
    permissions = forms.MultipleChoiceField(
        choices=(), required=False, widget=forms.CheckboxSelectMultiple
    )
    requires_two_factor = forms.BooleanField(
        required=False,
        label="Staff with this role must use two-factor login",
        help_text="Those who have not set it up are taken to the set-up page after their "
        "password, and can do nothing else until it is done.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["permissions"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [
            (code, f"{label} ({code})") for code, label in permissions.catalogue().items()
        ]


@staff_view(STAFF_MANAGE)
def roles(request: HttpRequest) -> HttpResponse:
    codes = permissions.catalogue()
    return render(
        request,
        "accounts/roles.html",
        {"roles": Role.objects.all(), "catalogue": codes},
    )


@require_http_methods(["GET", "POST"])
@staff_view(STAFF_MANAGE)
def role_edit(request: HttpRequest, role_id: int | None = None) -> HttpResponse:
    role = None
    initial: dict[str, Any] = {}
    if role_id is not None:
        role = Role.objects.filter(pk=role_id).first()
        if role is None:
            raise Http404("No such role")
        initial = {
            "name": role.name,
            "description": role.description,
            "permissions": role.permission_codes(),
            "requires_two_factor": role.requires_two_factor,
        }
    return edit_form(
        request,
        RoleForm(request.POST or None, initial=initial),
        lambda data: accounts.save_role(
            role.pk if role else None,
            name=data["name"],
            description=data["description"],
            permission_codes=data["permissions"],
            requires_two_factor=data["requires_two_factor"],
            actor=actor(request),
        ),
        saved=lambda saved: f"Role {saved.name} saved.",
        then="backoffice:roles",
        template="accounts/role_edit.html",
        context={"role": role},
    )
