"""Each web request's id and actor, for the log lines it causes (core.logs).

The id comes from the `X-Request-ID` header a proxy in front sets (so its log and propdesk's
meet), when it is a plain token of at most 128 characters; otherwise a new one is made. It goes
back in the response's `X-Request-ID`. Both are also left in the WSGI environ, where the web
server's access line (ops.access_log) reads them once the response is sent."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

from propdesk.core import logs

HEADER = "X-Request-ID"
ENVIRON_REQUEST_ID = "propdesk.request_id"
ENVIRON_ACTOR = "propdesk.actor"
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+/=-]{0,127}")


def sane(value: str | None) -> str | None:
    """The caller's id when it is safe to write into a log line and a header, else None."""
    if value and _SANE.fullmatch(value):
        return value
    return None


def new_id() -> str:
    return uuid.uuid4().hex


def bind_actor(request: HttpRequest, user: Any) -> None:
    """Who the request is from, once known (the session's user here; a bearer token's in
    accounts.api_auth)."""
    actor = logs.actor_of(user)
    if actor is not None:
        logs.bind_actor(actor)
        request.META[ENVIRON_ACTOR] = actor


class RequestIdMiddleware:
    """First of all the middleware: every line of the request, a refusal's too, has its id."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        given = sane(request.headers.get(HEADER))
        request_id = given or new_id()
        request.request_id = request_id  # type: ignore[attr-defined]
        request.META[ENVIRON_REQUEST_ID] = request_id
        logs.bind_request(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


class ActorMiddleware:
    """Right after authentication: the session's user is the actor of the request's lines."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        bind_actor(request, getattr(request, "user", None))
        return self.get_response(request)


def _forget(**kwargs: Any) -> None:
    """The request is over (its response closed, after the web server's access line): the
    thread's next lines belong to no request."""
    logs.bind_request(None)


request_finished.connect(_forget, dispatch_uid="propdesk.core.request_ids.forget")
