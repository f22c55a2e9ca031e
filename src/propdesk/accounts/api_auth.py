"""How API callers prove who they are: a bearer token, or the browser's session (with CSRF)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from propdesk.accounts import two_factor
from propdesk.accounts.middleware import speak_as
from propdesk.accounts.models import Client, User
from propdesk.accounts.services import user_for_token
from propdesk.core import request_ids
from propdesk.core.errors import Forbidden


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token or len(token) > 200:
            return None
        user = user_for_token(token)
        if user is not None:
            request.bearer_token = token  # type: ignore[attr-defined]
            request_ids.bind_actor(request, user)  # the log lines' actor (core.logs)
            speak_as(request, user)
        return user


class StaffGatedSession(SessionAuth):
    """The browser's session, unless it is a staff session that still owes its second factor.
    The middleware lets an API call carrying a token past its own check, and ninja falls back
    to the session when the token is no good: the gate must hold here too."""

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = super().authenticate(request, key)
        if not isinstance(user, User):
            return None
        # Judged once a request: the middleware has already looked (behind it, look here).
        gate = getattr(request, "two_factor_gate", None) or two_factor.session_gate(
            request.session, user
        )
        owing = gate is not two_factor.Gate.OPEN
        return None if user.is_staff_user and owing else user


api_auth: list[Any] = [BearerToken(), StaffGatedSession()]


def current_user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    if not isinstance(user, User):
        raise Forbidden()
    return user


def current_client(request: HttpRequest, refusal: str = "This endpoint is for clients.") -> Client:
    """The calling client; staff (and anyone else) get 403 with `refusal`."""
    user = current_user(request)
    if not user.is_client:
        raise Forbidden(refusal)
    return user.client


def current_staff(request: HttpRequest) -> User:
    user = current_user(request)
    if not user.is_staff_user:
        raise Forbidden("This endpoint is for the firm's staff.")
    return user
