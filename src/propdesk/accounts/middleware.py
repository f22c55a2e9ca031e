from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers

from propdesk.accounts import two_factor, zones
from propdesk.accounts.models import User
from propdesk.accounts.services import client_login_block


class ActiveAccountMiddleware:
    """End the session of a client who may no longer use the portal (e.g. suspended)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_client:
            client = getattr(user, "client", None)
            block = client_login_block(client) if client else None
            if client is None or block is not None:
                logout(request)
                if block is not None and hasattr(request, "_messages"):
                    messages.error(request, block.message)
        return self.get_response(request)


class TwoFactorMiddleware:
    """A staff session that owes a second factor gets nowhere, whatever the path (back office,
    documents, the API with the session): one that never gave the code though the user has
    two-factor login (turned on in another browser, say) is logged out; one whose role requires
    it with nothing set up reaches only the enrolment page and logout."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if isinstance(user, User) and user.is_staff_user:
            gate = two_factor.session_gate(request.session, user)
            # The API's session authentication reads it rather than asking again.
            request.two_factor_gate = gate  # type: ignore[attr-defined]
            if gate is two_factor.Gate.VERIFY:
                logout(request)
                if hasattr(request, "_messages"):
                    messages.info(request, "Log in again, with the code from your app.")
            elif gate is two_factor.Gate.ENROL and not _open_while_enrolling(request):
                return _to_enrolment(request)
        return self.get_response(request)


def _open_while_enrolling(request: HttpRequest) -> bool:
    path = request.path
    if path.startswith("/api/") and "authorization" in request.headers:
        return True  # a bearer token speaks for itself (and is refused on its own terms)
    return (
        path.startswith(reverse("backoffice:security"))
        or path == reverse("logout")
        or path.startswith(reverse("login"))
    )


def _to_enrolment(request: HttpRequest) -> HttpResponse:
    refusal = two_factor.TwoFactorSetupRequired()
    if request.path.startswith("/api/"):
        return JsonResponse(refusal.as_json(), status=refusal.status)
    target = reverse("backoffice:security")
    if request.headers.get("HX-Request"):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = target
        return response
    messages.warning(request, "Your role requires two-factor login. Set it up to go on.")
    return redirect(target)


class ClientTimeZoneMiddleware:
    """A client's pages read in their own time zone (accounts.zones): activated for the
    request, so the templates' dates follow it, and put back afterwards (threads serve other
    people next). Staff, and anyone not logged in, read the firm's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        is_client = isinstance(user, User) and user.is_client
        client = getattr(user, "client", None) if is_client else None
        if client is None:
            timezone.deactivate()
            return self.get_response(request)
        timezone.activate(zones.zone_of(client))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class LanguageMiddleware:
    """The language pages read in (docs/languages.md): a logged-in client's own choice
    (`User.language`); anyone not logged in, the language chooser's cookie or else the
    browser's Accept-Language; staff, the firm's default (the back office is English).
    Activated for the request and put back afterwards, like the time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = language_of(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        try:
            response = self.get_response(request)
        finally:
            translation.deactivate()
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        # An API call by token says who it is only in the API's auth (`speak_as`).
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


def language_of(request: HttpRequest) -> str:
    """The language for this request: see LanguageMiddleware."""
    user = request.user
    if isinstance(user, User) and user.is_authenticated:
        return language_of_user(user)
    known = {code for code, _ in settings.LANGUAGES}
    chosen = translation.get_language_from_request(request)
    return chosen if chosen in known else str(settings.LANGUAGE_CODE)


def language_of_user(user: User) -> str:
    """A client's own choice; staff read the firm's default (the back office is English)."""
    known = {code for code, _ in settings.LANGUAGES}
    if user.is_client and user.language in known:
        return user.language
    return str(settings.LANGUAGE_CODE)


def speak_as(request: HttpRequest, user: User) -> None:
    """Once an API call's token names its user, the rest of the call is in that user's
    language, as a page would be (the browser's Accept-Language no longer decides)."""
    language = language_of_user(user)
    translation.activate(language)  # LanguageMiddleware deactivates when the call ends
    request.LANGUAGE_CODE = language
