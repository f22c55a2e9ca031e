"""A safety net under the per-field checks: a request carrying a NUL character (or, in JSON, a
lone surrogate) anywhere we read is refused before any view, session or login sees it.
(Multipart bodies excepted: see _FORM.)

No field takes these characters, PostgreSQL refuses NUL in text and no database stores a lone
surrogate: left to reach a query they turn a harmless typo into a 500, and a session cookie
with a NUL in it broke every page. Each parameter and field still has its own type and check
(core.schema, core.validation); this catches what one of them misses. The API answers 422
`validation_error` naming the parameter; pages answer 400 with a plain explanation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse

NUL = "\x00"
# Multipart bodies are left to their views: parsing one here would consume the upload stream
# (and a view that reads the raw body, the payment webhook, could no longer); their text fields
# go through the forms' and clean_text's own checks.
_FORM = "application/x-www-form-urlencoded"


def _bad_text(text: str, *, surrogates: bool) -> bool:
    if NUL in text:
        return True
    return surrogates and any("\ud800" <= ch <= "\udfff" for ch in text)


# Where a value sits, as a chain of (key, parent) links: a name is spelt out only for the value
# refused, so a huge or deep document costs no more than its own size to walk.
Where = tuple[str, "Where"] | None


def _spelt(where: Where) -> str:
    keys: list[str] = []
    while where is not None:
        key, where = where
        keys.append(key)
    return ".".join(reversed(keys))


def _first_bad_string(document: Any) -> str | None:
    """Where the first string (or key) holding a NUL or a lone surrogate is ("stages.0.name"),
    walked without recursion, however deep the document."""
    pending: list[tuple[Any, Where]] = [(document, None)]
    while pending:
        value, where = pending.pop()
        if isinstance(value, str):
            if _bad_text(value, surrogates=True):
                return _spelt(where) or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if _bad_text(str(key), surrogates=True):
                    return _spelt((str(key), where))
                pending.append((item, (str(key), where)))
        elif isinstance(value, list):
            pending.extend((item, (str(i), where)) for i, item in enumerate(value))
    return None


def _safe_name(name: str) -> str:
    """A field's name fit to echo back (the name itself may hold the NUL)."""
    shown = name.replace(NUL, "").encode("utf-8", "replace").decode("utf-8", "replace")
    return shown[:60] or "body"


def find_bad_input(request: HttpRequest) -> str | None:
    """The name of the first place in the request holding a NUL (or, in JSON, a lone
    surrogate): a header, a cookie, the path, a query parameter, a form field (urlencoded) or
    a JSON value."""
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            return key.removeprefix("HTTP_").replace("_", "-").title()
    for key, value in request.COOKIES.items():  # a quoted cookie may spell it "\000"
        if NUL in key or NUL in value:
            return "Cookie"
    if NUL in request.path:
        return "path"
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in v for v in values):
            return _safe_name(key)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.content_type == _FORM:
        for key, values in request.POST.lists():
            if NUL in key or any(NUL in v for v in values):
                return _safe_name(key)
    elif _is_api(request) and request.content_type != "multipart/form-data":
        # In valid JSON a NUL or a surrogate can only be written as a \u escape: without one
        # there is nothing to look for (and a body that is not JSON is the endpoint's to refuse).
        if b"\\u" not in request.body:
            return None
        try:
            document = json.loads(request.body)
        except (ValueError, RecursionError):  # not JSON: the endpoint says what it expects
            return None
        where = _first_bad_string(document)
        return None if where is None else _safe_name(where)
    return None


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _refusal(request: HttpRequest, field: str) -> HttpResponse:
    message = "The character NUL (and, in JSON, lone surrogates) is not accepted anywhere."
    if _is_api(request):
        body = {
            "code": "validation_error",
            "message": "Some fields are not valid.",
            "fields": {field: message},
        }
        return JsonResponse(body, status=422)
    text = f"Bad request: {field} holds a character propdesk does not accept. {message}"
    return HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")


class InputGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            field = find_bad_input(request)
        except SuspiciousOperation:
            if not _is_api(request):
                raise  # Django answers 400
            body = {"code": "bad_request", "message": "The request is malformed or too large."}
            return JsonResponse(body, status=400)
        if field is not None:
            return _refusal(request, field)
        if _is_api(request) and (repeated := _repeated_parameter(request)) is not None:
            said: dict[str, object] = {
                "code": "validation_error",
                "message": "Some fields are not valid.",
                "fields": {repeated: "Give this parameter once."},
            }
            return JsonResponse(said, status=422)
        return self.get_response(request)


def _repeated_parameter(request: HttpRequest) -> str | None:
    """A query parameter given twice (`?status=a&status=b`): no parameter of the API takes a
    list, and the framework would silently keep the last one."""
    for key, values in request.GET.lists():
        if len(values) > 1:
            return _safe_name(key)
    return None
