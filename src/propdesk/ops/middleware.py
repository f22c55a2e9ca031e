"""The service's own endpoints (/healthz, /readyz, /metrics), answered ahead of every other
middleware, and every other request counted and timed for /metrics.

Answered here, first of all, because whoever asks comes from inside the network: a load
balancer or compose's healthcheck probing by address (a Host that is not in ALLOWED_HOSTS,
which CommonMiddleware would refuse with a 400), over plain HTTP (no redirect to HTTPS), and
often (no session, no login, no throttle on the way). None of them reads the Host or writes
anything. /metrics asks for its bearer token (PROPDESK_METRICS_TOKEN); without one set it is
not there (404).
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from propdesk.ops import config, health, metrics

HEALTH = "/healthz"
READY = "/readyz"
METRICS = "/metrics"
_ROUTES = {HEALTH: "healthz", READY: "readyz", METRICS: "metrics"}


class ServiceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        metrics.check_multiprocess_dir(os.environ)
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        own = _ROUTES.get(request.path_info)
        if own is not None:
            response = _answer(request, own)
            route = own
        else:
            response = self.get_response(request)
            route = _route(request)
        metrics.observe(
            request.method or "", route, response.status_code, time.perf_counter() - started
        )
        return response


def _route(request: HttpRequest) -> str:
    """The URL's name, never the path (ids and tokens in paths would make a series each). The
    API's URLs are named after one of their operations (GET and POST of /challenges share one),
    so an API request is named by its URL's pattern (`api/v1/challenges/<challenge_id>`).
    Static files (served by WhiteNoise before any URL is resolved) are counted together, and
    so is whatever resolved to nothing."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.namespace == "api" and match.route:
        return str(match.route)
    if match is not None and match.view_name:
        return str(match.view_name)
    if request.path_info.startswith(settings.STATIC_URL or "/static/"):
        return "static"
    return "unmatched"


def _answer(request: HttpRequest, route: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return _no_store(HttpResponse(status=405, headers={"Allow": "GET, HEAD"}))
    if route == "healthz":
        return _json(health.alive(), 200)
    if route == "readyz":
        asked = request.GET.get("require")
        try:
            require = None if asked is None else config.parts(asked)
        except ValueError as exc:
            message = f"require {exc}."
            body = {"code": "validation_error", "message": message, "fields": {"require": message}}
            return _json(body, 400)
        ok, body = health.ready(require)
        response = _json(body, 200 if ok else 503)
        # Not logged as a server error at every probe: the body names what fails.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response
    return _metrics(request)


def _metrics(request: HttpRequest) -> HttpResponse:
    token = health.config().metrics_token
    if not token:
        return _no_store(HttpResponse(status=404))
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return _no_store(HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"}))
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _no_store(HttpResponse(status=403))
    body, content_type = metrics.exposition(request.headers.get("Accept", ""))
    return _no_store(HttpResponse(body, content_type=content_type))


def _json(body: object, status: int) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    return _no_store(response)


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
