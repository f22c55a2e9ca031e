"""Errors a user can cause: typed, with a message and an HTTP status; rendered once.

A default message is `gettext_lazy`: it is written in the language active when the error is
raised, the reader's (accounts/middleware.py, LanguageMiddleware), not at import."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a development dependency: typing only


class DomainError(Exception):
    status = 400
    code = "error"
    default_message: StrOrPromise = _("The request cannot be carried out.")

    def __init__(
        self,
        message: StrOrPromise | None = None,
        *,
        fields: dict[str, str] | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = str(message or self.default_message)
        self.fields = dict(fields or {})
        if code is not None:
            self.code = code
        self.extra = dict(extra or {})
        super().__init__(f"{self.message} {self.fields}" if self.fields else self.message)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        body.update(self.extra)
        return body


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"
    default_message: StrOrPromise = _("Some fields are not valid.")


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    default_message: StrOrPromise = _("Log in first.")


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    default_message: StrOrPromise = _("The email or the password is not right.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message: StrOrPromise = _("You are not allowed to do this.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message: StrOrPromise = _("Not found.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message: StrOrPromise = _("This conflicts with the current state.")


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Throttled(DomainError):
    status = 429
    code = "too_many_attempts"
    default_message: StrOrPromise = _("Too many attempts. Try again later.")
