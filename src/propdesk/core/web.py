"""What every HTML view shares: who may see it, and one way to show a user's error."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render

from propdesk.core.errors import DomainError, Forbidden, NotAuthenticated, ValidationFailed

if TYPE_CHECKING:  # the site's user model (AUTH_USER_MODEL) as type checkers see it
    from django.contrib.auth.models import _User as User

View = TypeVar("View", bound=Callable[..., HttpResponseBase])


def actor(request: HttpRequest) -> User:
    return cast("User", request.user)


def person(request: HttpRequest) -> User | None:
    """The logged-in user, if anyone is logged in."""
    user = request.user
    return user if isinstance(user, get_user_model()) else None


def to_login(request: HttpRequest) -> HttpResponseBase:
    """To the login page, and back here after. A part of a page refreshing itself (htmx) asks
    the browser to go, so the login page never lands inside the part."""
    if request.headers.get("HX-Request"):
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = (page.path + (f"?{page.query}" if page.query else "")) or "/"
        response = HttpResponse(status=204)
        response["HX-Redirect"] = redirect_to_login(back)["Location"]
        return response
    return redirect_to_login(request.get_full_path())


def staff_view(permission: str | None = None) -> Callable[[View], View]:
    """Back-office pages: staff only, and holding `permission` when one is named."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return to_login(request)
            user = person(request)
            if user is None or not user.is_staff_user:
                raise Forbidden("The back office is for the firm's staff.")
            if permission is not None and not user.has_permission(permission):
                raise Forbidden("Your role does not allow you to see this page.")
            return view(request, *args, **kwargs)

        return cast(View, wrapper)

    return decorate


def client_view(view: View) -> View:
    """Portal pages: an active client's own."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return to_login(request)
        user = person(request)
        if user is None or not user.is_client:
            raise Forbidden("The portal is for clients; staff use the back office.")
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def apply_errors(form: forms.Form, error: ValidationFailed) -> None:
    """Put a service's field errors on the form; the rest go to the form as a whole."""
    for field, message in error.fields.items():
        form.add_error(field if field in form.fields else None, message)
    if not error.fields:
        form.add_error(None, error.message)


def edit_form(
    request: HttpRequest,
    form: forms.Form,
    save: Callable[[dict[str, Any]], Any],
    *,
    then: str | Callable[[Any], HttpResponse],
    saved: str | Callable[[Any], str] | None = None,
    template: str = "",
    context: Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None = None,
    form_name: str = "form",
    page: Callable[[int], HttpResponse] | None = None,
    also: Sequence[forms.Form | forms.BaseFormSet] = (),
    refused: tuple[type[DomainError], ...] = (),
    refused_status: int | None = None,
    faults: Callable[[ValidationFailed], None] | None = None,
    refusal: Callable[[DomainError], None] | None = None,
) -> HttpResponse:
    """The flow of a page that edits something with a form (and the forms in `also`).

    A valid POST goes to the use case `save` with the form's cleaned data. Its field errors
    (ValidationFailed) land on the form, or where `faults` puts them (a form with sub-forms
    names its fields by path); an error of a type in `refused` goes on the form as a whole, or
    where `refusal` shows it. Either way nothing is saved and the page comes back: 422, or for a
    refusal `refused_status`, else the error's own status. Other errors go on up. Success says
    `saved` (a text, or one made from the result) and answers `then`: the URL name of the page
    to go to, or a function of the result.

    The page is `template` with `context` (or what a function gives, when the page is shown)
    and the form as `form_name`, or what `page` draws with the status. A GET, or a POST that is
    not valid, shows it.
    """
    status = 200
    if request.method == "POST" and form.is_valid() and all(f.is_valid() for f in also):
        try:
            result = save(form.cleaned_data)
        except ValidationFailed as exc:
            (faults or (lambda error: apply_errors(form, error)))(exc)
            status = exc.status
        except refused as exc:
            (refusal or (lambda error: form.add_error(None, error.message)))(exc)
            status = refused_status or exc.status
        else:
            if saved is not None:
                messages.success(request, saved if isinstance(saved, str) else saved(result))
            return redirect(then) if isinstance(then, str) else then(result)
    if status == 200 and (form.errors or any(f.is_bound and not f.is_valid() for f in also)):
        status = 422
    if page is not None:
        return page(status)
    extra = context() if callable(context) else context or {}
    return render(request, template, {**extra, form_name: form}, status=status)


class DomainErrorMiddleware:
    """Render an uncaught `DomainError` as a page with its status (JSON has its own handler)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DomainError) or request.path.startswith("/api/"):
            return None
        if isinstance(exception, NotAuthenticated):
            return redirect_to_login(request.get_full_path())
        user = person(request)
        staff = user is not None and user.is_staff_user
        layout = "backoffice/base.html" if staff else "portal/base.html"
        context = {"error": exception, "layout": layout}
        return render(request, "core/error.html", context, status=exception.status)
