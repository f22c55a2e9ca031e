from __future__ import annotations

from django import forms
from django.contrib.auth import login, logout
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from propdesk.accounts import devices, permissions, throttle
from propdesk.accounts import services as accounts
from propdesk.accounts.models import User
from propdesk.core.errors import DomainError
from propdesk.core.models import AuditRecord
from propdesk.core.net import client_ip
from propdesk.core.validation import search_text
from propdesk.core.web import actor, staff_view


class LoginForm(forms.Form):
    email = forms.CharField(max_length=254, widget=forms.EmailInput(attrs={"autofocus": True}))
    password = forms.CharField(max_length=1024, strip=False, widget=forms.PasswordInput)


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
        else:
            login(request, user, backend="propdesk.accounts.backends.EmailBackend")
            landing = HttpResponseRedirect(_landing(request, user))
            devices.remember_device(request, landing, throttle.PEOPLE, email)
            return landing
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    response = render(request, "core/login.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


@staff_view(permissions.AUDIT_VIEW)
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
        "core/audit.html",
        {
            "page": page,
            "action": action,
            "who": who,
            "actions": list(actions),
            "me": actor(request),
        },
    )
