"""Logging in and out (the password, then the code of a two-factor login), and the site's root,
which sends each person to their side of it."""

from __future__ import annotations

import time
from typing import Any

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts import devices, throttle, two_factor
from propdesk.accounts import services as accounts
from propdesk.accounts.models import User
from propdesk.core.errors import DomainError, NotAuthenticated
from propdesk.core.net import client_ip


class LoginForm(forms.Form):
    email = forms.CharField(
        max_length=254,
        label=gettext_lazy("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True}),
    )
    password = forms.CharField(
        max_length=1024, strip=False, label=gettext_lazy("Password"), widget=forms.PasswordInput
    )


class LoginCodeForm(forms.Form):
    code = forms.CharField(
        max_length=32,
        label=gettext_lazy("Code"),
        help_text=gettext_lazy(
            "The 6 digits your authenticator app shows, or one of your recovery codes."
        ),
        widget=forms.TextInput(
            attrs={"autofocus": True, "autocomplete": "one-time-code", "spellcheck": "false"}
        ),
    )


# The login whose password was right and whose code is awaited: the user's id, until when, and
# where to go after. Nobody is logged in until the code is right.
PENDING_LOGIN = "two_factor_login"
BACKEND = "propdesk.accounts.backends.EmailBackend"


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if isinstance(user, User) and user.is_staff_user:
        return redirect("backoffice:dashboard")
    return redirect("portal:home")


def _landing(request: HttpRequest, user: User) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    wanted_prefix = "/backoffice/" if user.is_staff_user else "/portal/"
    if target.startswith(wanted_prefix) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return target
    return wanted_prefix


@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    status = 200
    retry_after = None
    unverified = ""
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].strip().lower()
        try:
            user = accounts.authenticate(
                email=email,
                password=form.cleaned_data["password"],
                ip=client_ip(request),
                device=devices.known_device(request, throttle.PEOPLE, email),
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
            retry_after = exc.extra.get("retry_after")
            if isinstance(exc, accounts.EmailNotVerified):
                unverified = email  # the page offers to send the link again
        else:
            landing = _landing(request, user)
            # The password was right from this browser: it is a known device for the login
            # throttle whether or not a code follows (the code has a throttle of its own).
            response: HttpResponse
            if two_factor.is_enrolled(user):
                _await_code(request, user, landing)
                response = redirect("login_code")
            else:
                login(request, user, backend=BACKEND)
                response = HttpResponseRedirect(landing)
            devices.remember_device(request, response, throttle.PEOPLE, email)
            return response
    context = {
        "form": form,
        "next": request.POST.get("next") or request.GET.get("next", ""),
        "unverified": unverified,
    }
    response = render(request, "accounts/login.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _await_code(request: HttpRequest, user: User, landing: str) -> None:
    if request.user.is_authenticated:
        logout(request)  # whoever was logged in here is not, while another's code is awaited
    request.session.cycle_key()
    request.session[PENDING_LOGIN] = {
        "user": user.pk,
        "until": time.time() + settings.TWO_FACTOR_LOGIN_SECONDS,
        "next": landing,
    }


def _pending_login(request: HttpRequest) -> dict[str, Any] | None:
    pending = request.session.get(PENDING_LOGIN)
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        request.session.pop(PENDING_LOGIN, None)
        return None
    return pending


@require_http_methods(["GET", "POST"])
def login_code(request: HttpRequest) -> HttpResponse:
    """The second step of a login: the code from the authenticator app, or a recovery code."""
    pending = _pending_login(request)
    if pending is None:
        messages.info(request, _("Log in with your email and password first."))
        return redirect("login")
    form = LoginCodeForm(request.POST or None)
    status = 422 if request.method == "POST" and not form.is_valid() else 200
    if request.method == "POST" and form.is_valid():
        try:
            passed = two_factor.verify_login(pending["user"], form.cleaned_data["code"])
        except NotAuthenticated:
            request.session.pop(PENDING_LOGIN, None)
            messages.info(request, _("Log in again."))
            return redirect("login")
        except DomainError as exc:
            form.add_error("code", exc.fields.get("code", exc.message))
            status = exc.status
        else:
            del request.session[PENDING_LOGIN]
            login(request, passed.user, backend=BACKEND)
            django_otp.login(request, passed.device)
            if passed.recovery_codes_left is not None:
                messages.warning(
                    request,
                    f"You logged in with a recovery code; {passed.recovery_codes_left} left. "
                    "Make new ones under Two-factor login if you are running short.",
                )
            return HttpResponseRedirect(pending["next"])
    return render(request, "accounts/login_code.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")
