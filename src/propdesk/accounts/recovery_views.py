"""The pages of account recovery: "Forgot your password?", the emailed reset link, the email
verification link (and asking for it again), and changing one's password in the portal and the
back office. The use cases are in accounts/recovery.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from propdesk.accounts import devices, recovery, throttle
from propdesk.accounts.models import User
from propdesk.core.errors import DomainError, Throttled, ValidationFailed
from propdesk.core.net import client_ip
from propdesk.core.web import actor, apply_errors, client_view, edit_form, staff_view

# The reset link's token, kept in the session once the link was opened: the page the person
# types their password on has no token in its address (it would leak in history and logs).
RESET_TOKEN = "password_reset_token"
SET_PASSWORD = "set-password"


class EmailForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("Email"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


def _password_field(label: Any, autocomplete: str = "new-password") -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


class NewPasswordForm(forms.Form):
    new_password = _password_field(gettext_lazy("New password"))
    new_password2 = _password_field(gettext_lazy("New password again"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, second = data.get("new_password"), data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", gettext("The two passwords are not the same."))
        return data


class ChangePasswordForm(NewPasswordForm):
    current_password = _password_field(gettext_lazy("Current password"), "current-password")
    field_order = ("current_password", "new_password", "new_password2")


def _ask(request: HttpRequest, template: str, ask: Any, then: str) -> HttpResponse:
    """The flow of "send me a link": the same redirect for every well-formed address."""
    form = EmailForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            email = form.cleaned_data["email"]
            # The browser's known-device cookie for this email (as the login keeps it).
            device = devices.known_device(request, throttle.PEOPLE, email.strip().lower())
            ask(email=email, ip=client_ip(request), device=device)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except Throttled as exc:
            form.add_error(None, exc.message)
            response = render(request, template, {"form": form}, status=exc.status)
            response["Retry-After"] = str(exc.extra.get("retry_after", 1))
            return response
        else:
            return redirect(then)
    status = 422 if form.errors else 200
    return render(request, template, {"form": form}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def password_forgot(request: HttpRequest) -> HttpResponse:
    return _ask(
        request,
        "accounts/password_forgot.html",
        recovery.request_password_reset,
        "password_forgot_sent",
    )


def password_forgot_sent(request: HttpRequest) -> HttpResponse:
    minutes = max(1, settings.PASSWORD_RESET_TIMEOUT // 60)
    context = {"what": "reset", "reset_minutes": minutes}
    return render(request, "accounts/password_forgot_sent.html", context)


def _invalid(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(
        request, "accounts/link_invalid.html", {"message": error.message}, status=error.status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    """The emailed link: checked, kept in the session, then the page to type the password."""
    if token != SET_PASSWORD:
        if recovery.reset_link_user(uidb64, token) is None:
            return _invalid(request, recovery.invalid_link())
        request.session[RESET_TOKEN] = token
        return redirect("password_reset", uidb64=uidb64, token=SET_PASSWORD)
    kept = request.session.get(RESET_TOKEN)
    user = recovery.reset_link_user(uidb64, kept)
    if user is None:
        return _invalid(request, recovery.invalid_link())
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            recovery.reset_password(
                uidb64=uidb64, token=kept, password=form.cleaned_data["new_password"]
            )
        except recovery.InvalidLink as exc:
            return _invalid(request, exc)
        except ValidationFailed as exc:
            apply_errors(form, exc)
        else:
            request.session.pop(RESET_TOKEN, None)
            messages.success(
                request, gettext("Your password was changed. Log in with your new password.")
            )
            return redirect("login")
    if form.errors:
        status = 422
    context = {"form": form, "email": user.email}
    return render(request, "accounts/password_reset.html", context, status=status)


@never_cache
def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user, now = recovery.verify_email(token)
    except recovery.InvalidLink as exc:
        return _invalid(request, exc)
    return render(request, "accounts/email_verified.html", {"verified_now": now, "who": user})


@never_cache
@require_http_methods(["GET", "POST"])
def verification_again(request: HttpRequest) -> HttpResponse:
    return _ask(
        request,
        "accounts/verification_again.html",
        recovery.resend_verification,
        "verification_sent",
    )


def verification_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/password_forgot_sent.html", {"what": "verify"})


def _change_password(request: HttpRequest, template: str, then: str) -> HttpResponse:
    user: User = actor(request)
    form = ChangePasswordForm(request.POST if request.method == "POST" else None)

    def save(data: dict[str, Any]) -> int:
        revoked = recovery.change_password(
            actor=user,
            current=data["current_password"],
            new=data["new_password"],
            ip=client_ip(request),
        )
        update_session_auth_hash(request, user)  # this session stays; the others end
        return revoked

    return edit_form(
        request,
        form,
        save,
        then=then,
        saved=gettext(
            "Your password was changed. Your other devices were logged out and your API "
            "tokens were revoked."
        ),
        template=template,
        refused=(Throttled,),
    )


@never_cache
@require_http_methods(["GET", "POST"])
@client_view
def portal_password(request: HttpRequest) -> HttpResponse:
    return _change_password(request, "accounts/portal_password.html", "portal:password")


@never_cache
@require_http_methods(["GET", "POST"])
@staff_view()
def backoffice_password(request: HttpRequest) -> HttpResponse:
    return _change_password(request, "accounts/backoffice_password.html", "backoffice:password")
