"""Errors a user can cause: typed, with a message and an HTTP status; rendered once."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "error"
    default_message = "The request cannot be carried out."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: dict[str, str] | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
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
    default_message = "Some fields are not valid."


class NotAuthenticated(DomainError):
    status = 401
    code = "not_authenticated"
    default_message = "Log in first."


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    default_message = "The email or the password is not right."


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = "You are not allowed to do this."


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = "Not found."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "This conflicts with the current state."


class InvalidTransition(Conflict):
    code = "invalid_transition"


class Throttled(DomainError):
    status = 429
    code = "too_many_attempts"
    default_message = "Too many attempts. Try again later."
