"""The error answers every operation can give, declared in the OpenAPI once for all of them, so
that no operation can forget one: a generated client then knows each status and its shape
(`ErrorOut`), and a fuzzer can tell a documented refusal from a surprise."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ERROR_SCHEMA = "ErrorOut"
MUTATING = {"post", "put", "patch", "delete"}

# What each status means and the codes it comes with (the body's `code`), for every operation.
STATUS_TEXT = {
    400: "The request is malformed: a body that is not JSON, too large, or not what the "
    "content type says, or too many query parameters. `code`: `bad_request`.",
    401: "Not authenticated. `code`: `not_authenticated` (no or an unknown token, or none of "
    "the credentials this operation takes), `two_factor_required` (a staff token got without "
    "the second factor).",
    403: "Authenticated but not allowed. `code`: `forbidden` (the role lacks the permission, "
    "or a client calling a staff operation or the reverse), `two_factor_setup_required`, "
    "`kyc_required` (the firm's KYC policy blocks this action until KYC is approved), "
    "`client_suspended`.",
    404: "What the path (or the body) names does not exist, or is not yours to see. `code`: "
    "`not_found`.",
    409: "The domain refuses in the current state; nothing changed. `code`: `conflict` or one "
    "naming the refusal, e.g. `invalid_transition`, `insufficient_funds`, "
    "`idempotency_key_reused` (the Idempotency-Key was used for another request).",
    422: "A parameter or a field is missing or not valid (any operation: a query parameter "
    "given twice, a control character in a header); nothing changed. `code`: "
    "`validation_error`, with `fields` naming each one (`destination.iban`, `after`, ...).",
    429: "Too many attempts; nothing was tried. `code`: `too_many_attempts`, with "
    "`retry_after` (seconds; also the `Retry-After` header).",
}


def declare_errors(
    schema: dict[str, Any],
    *,
    error_schema: dict[str, Any],
    throttled: Iterable[str],
    conflicts: Mapping[str, str],
    not_found: Iterable[str] = (),
) -> dict[str, Any]:
    """Add the error answers to every operation of `schema` (an OpenAPI document):

    - 400 and 422 on every one (the input guard's refusals come before any operation);
    - 401 and 403 where it is authenticated (or already says so);
    - 404 where its path names something, or `not_found` lists it (a lookup by the body);
    - 409 where `conflicts` lists it (its operation id -> the refusals' codes);
    - 429 where `throttled` lists it.

    A response the operation already declares keeps its description (the token endpoint's
    codes) and gets the error schema."""
    throttled, not_found = set(throttled), set(not_found)
    schema.setdefault("components", {}).setdefault("schemas", {})[ERROR_SCHEMA] = error_schema
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}}
    for item in schema.get("paths", {}).values():
        for method, operation in item.items():
            if method not in MUTATING | {"get", "head"}:
                continue
            op_id = operation.get("operationId", "")
            params = operation.get("parameters", [])
            # every operation: the input guard refuses a malformed request (too many query
            # parameters: 400; one repeated, or a control character in a header: 422) before
            # any operation runs, whatever the operation takes
            statuses: dict[int, str] = {400: STATUS_TEXT[400], 422: STATUS_TEXT[422]}
            if operation.get("security"):
                statuses[401] = STATUS_TEXT[401]
                statuses[403] = STATUS_TEXT[403]
            if op_id in not_found or any(p.get("in") == "path" for p in params):
                statuses[404] = STATUS_TEXT[404]
            if op_id in conflicts:
                statuses[409] = f"{STATUS_TEXT[409]} Here: {conflicts[op_id]}"
            if op_id in throttled:
                statuses[429] = STATUS_TEXT[429]
            # ninja's keys are ints; JSON writes them as strings either way
            responses = {str(k): v for k, v in operation.get("responses", {}).items()}
            for status, text in sorted(statuses.items()):
                declared = responses.setdefault(str(status), {})
                declared.setdefault("description", text)
            for code, declared in responses.items():
                if code[:1] in "45":
                    declared.setdefault("description", STATUS_TEXT.get(int(code), "Error."))
                    declared["content"] = content
            operation["responses"] = dict(sorted(responses.items()))
    return schema
