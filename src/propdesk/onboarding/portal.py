from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods
from django_countries import countries

from propdesk.accounts.models import Client
from propdesk.core.errors import Throttled, ValidationFailed
from propdesk.core.net import client_ip
from propdesk.core.web import apply_errors
from propdesk.onboarding.services import register_client


class RegistrationForm(forms.Form):
    type = forms.ChoiceField(
        choices=Client.Kind.choices,
        widget=forms.RadioSelect,
        initial=Client.Kind.TRADER,
        label="I register as",
    )
    name = forms.CharField(max_length=150, label="Full name")
    email = forms.CharField(max_length=254, widget=forms.EmailInput)
    phone = forms.CharField(
        max_length=32,
        help_text="With the country code, e.g. +420 601 234 567",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    nationality = forms.ChoiceField(choices=[("", "Choose…"), *countries])
    password = forms.CharField(
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 10 characters; not a common password and not only digits.",
    )
    password_again = forms.CharField(
        max_length=1024,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="Password (again)",
    )
    referral_code = forms.CharField(max_length=40, required=False, label="Referral code (optional)")

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords are not the same.")
        return data


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    initial = {"referral_code": request.GET.get("ref", "")[:40]}
    form = RegistrationForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            client, _ = register_client(
                kind=data["type"],
                name=data["name"],
                email=data["email"],
                password=data["password"],
                nationality=data["nationality"],
                phone=data["phone"],
                referral_code=data["referral_code"],
                ip=client_ip(request),
            )
        except ValidationFailed as exc:
            apply_errors(form, exc)
        except Throttled as exc:
            form.add_error(None, exc.message)
        else:
            request.session["registered_status"] = client.status
            return redirect("portal:registered")
    return render(
        request, "portal/register.html", {"form": form}, status=422 if form.errors else 200
    )


def registered(request: HttpRequest) -> HttpResponse:
    status = request.session.pop("registered_status", None)
    if status is None:
        return redirect("login")
    return render(request, "portal/registered.html", {"active": status == Client.Status.ACTIVE})
