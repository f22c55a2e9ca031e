"""The OpenAPI as integrators read it: a valid OpenAPI 3.1 document, every error answer
declared with the error schema, statuses as enums, money as decimal strings with a pattern,
the lists paged one way, and the KYC upload's body written out."""

from __future__ import annotations

import json
import re
from typing import Any

from django.test import Client as WebClient
from openapi_spec_validator import OpenAPIV31SpecValidator

from propdesk.api import api

SCHEMA = api.get_openapi_schema()
DOC: dict[str, Any] = json.loads(json.dumps(SCHEMA, default=str))
COMPONENTS = DOC["components"]["schemas"]
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in DOC["paths"].items() for m, op in item.items()]


def _properties(name: str) -> dict[str, Any]:
    return dict(COMPONENTS[name]["properties"])


def _enum(prop: dict[str, Any]) -> list[str]:
    for shape in [prop, *prop.get("anyOf", [])]:
        if "enum" in shape:
            return list(shape["enum"])
        if "$ref" in shape:
            return list(COMPONENTS[shape["$ref"].rsplit("/", 1)[1]]["enum"])
    raise AssertionError(f"no enum in {prop}")


def test_the_openapi_is_a_valid_openapi_3_1_document() -> None:
    assert DOC["openapi"].startswith("3.1")
    errors = [e.message for e in OpenAPIV31SpecValidator(DOC).iter_errors()]
    assert errors == []


def test_the_served_openapi_is_the_one_checked() -> None:
    served = WebClient().get("/api/v1/openapi.json").json()
    assert served["paths"].keys() == DOC["paths"].keys()
    assert served["components"]["schemas"]["ErrorOut"] == COMPONENTS["ErrorOut"]


def test_every_error_answer_is_declared_with_the_error_schema() -> None:
    for method, path, op in _operations():
        declared = op["responses"]
        name = f"{method} {path}"
        for status, response in declared.items():
            if status[0] in "45":
                assert response["content"]["application/json"]["schema"] == ERROR_REF, name
                assert response["description"], name
        # the input guard answers these before any operation runs: a repeated or foreign
        # query parameter, a control character in a header, too many parameters
        assert {"400", "422"} <= declared.keys(), name
        if op.get("security"):
            assert {"401", "403"} <= declared.keys(), name
        if "{" in path:
            assert "404" in declared, name


def test_conflicts_and_throttles_are_declared_where_the_domain_refuses() -> None:
    by_id = {op["operationId"]: op for _, _, op in _operations()}
    for refused in ("approveRequest", "requestWithdrawal", "requestPayout", "sandboxPlaceOrder"):
        assert "409" in by_id[refused]["responses"], refused
    assert "insufficient_funds" in by_id["requestWithdrawal"]["responses"]["409"]["description"]
    for throttled in ("createToken", "registerClient", "sandboxCreateToken"):
        assert "429" in by_id[throttled]["responses"], throttled
    assert "409" not in by_id["getMe"]["responses"]
    # the token endpoint keeps its own words for its codes
    assert "invalid_two_factor_code" in by_id["createToken"]["responses"]["401"]["description"]


def test_the_trading_token_declares_its_refusals_and_takes_strings() -> None:
    by_id = {op["operationId"]: op for _, _, op in _operations()}
    responses = by_id["sandboxCreateToken"]["responses"]
    assert {"401", "403", "422", "429"} <= responses.keys()
    assert "account_blocked" in responses["403"]["description"]
    for status in ("401", "403"):
        assert responses[status]["content"]["application/json"]["schema"] == ERROR_REF
    body = _properties("TradingTokenIn")
    assert body["login"]["type"] == "string"
    assert body["password"]["type"] == "string"


def test_statuses_and_types_are_enums() -> None:
    assert set(_enum(_properties("RequestOut")["status"])) == {
        "pending",
        "approved",
        "rejected",
        "cancelled",
    }
    assert "in_progress" in _enum(_properties("StageOut")["status"])
    assert "active" in _enum(_properties("ParticipationOut")["status"])
    assert "awaiting_payment" in _enum(_properties("DepositOut")["status"])
    assert "pending" in _enum(_properties("WithdrawalOut")["status"])
    assert "not_submitted" in _enum(_properties("KycStatusOut")["status"])
    assert "paid" in _enum(_properties("PayoutOut")["status"])
    assert "prop_trading_fee" in _enum(_properties("LineOut")["type"])
    assert "online" in _enum(_properties("MethodOut")["kind"])


def _money_fields() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (name, field, prop)
        for name, schema in COMPONENTS.items()
        if name.endswith("Out")
        for field, prop in schema.get("properties", {}).items()
        if re.search(r"amount|balance|fee$|profit|share$|equity|^net$|credits|debits", field)
    ]


def test_money_is_a_decimal_string_with_a_pattern() -> None:
    found = _money_fields()
    assert len(found) > 20
    for name, field, prop in found:
        shapes = [s for s in [prop, *prop.get("anyOf", [])] if "anyOf" not in s]
        shapes = [s for s in shapes if s.get("type") != "null"]
        types = {s.get("type") for s in shapes}
        assert "number" not in types, (name, field)  # money is never a JSON number
        if types & {"integer", "array", "object", None}:
            # not money (a count of the accounts funded), or a list or object of its own,
            # whose fields are checked as its component's
            assert "string" not in types, (name, field)
            continue
        for shape in shapes:
            assert shape.get("format") == "decimal", (name, field)
            assert shape.get("pattern") == r"^-?[0-9]+(\.[0-9]+)?$", (name, field)
    # inputs show what they take, too
    amount = _properties("DepositIn")["amount"]["anyOf"][0]
    assert amount["format"] == "decimal"
    assert amount["pattern"]


def test_every_paged_list_has_one_shape_and_takes_after_and_limit() -> None:
    pages = [name for name in COMPONENTS if name.endswith("Page")]
    assert set(pages) >= {
        "RequestPage",
        "LinePage",
        "WithdrawalPage",
        "TransactionPage",
        "ParticipantPage",
    }
    for name in pages:
        properties = _properties(name)
        assert properties["items"]["type"] == "array", name
        assert {s.get("type") for s in properties["next"]["anyOf"]} == {"string", "null"}, name
    for _, path, op in _operations():
        returned = json.dumps(op["responses"].get("200", {}))
        if "Page" in returned:
            params = {p["name"]: p for p in op["parameters"]}
            assert {"after", "limit"} <= params.keys(), path
            assert params["limit"]["schema"]["maximum"] >= 1, path
            assert "offset" not in params, path


def test_the_filters_of_the_lists_are_in_the_schema() -> None:
    by_id = {op["operationId"]: op for _, _, op in _operations()}
    params = {p["name"]: p["schema"] for p in by_id["listApprovalRequests"]["parameters"]}
    assert {"type", "status", "mine", "reference", "after", "limit"} <= params.keys()
    assert "pending" in _enum(params["status"])
    report = {p["name"] for p in by_id["reportTransactions"]["parameters"]}
    assert {"type", "date_from", "date_to", "client", "currency", "status"} <= report
    participants = {p["name"]: p["schema"] for p in by_id["listParticipants"]["parameters"]}
    assert "failed" in _enum(participants["status"])


def test_the_kyc_upload_documents_its_multipart_body() -> None:
    submit = next(op for _, _, op in _operations() if op["operationId"] == "submitKyc")
    body = submit["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["required"] == ["form"]
    assert {"form", "answers"} <= body["properties"].keys()
    assert body["additionalProperties"]["format"] == "binary"


def test_a_participants_current_stage_is_described_field_by_field() -> None:
    current = _properties("ParticipantOut")["current_stage"]
    refs = [s["$ref"] for s in current["anyOf"] if "$ref" in s]
    assert refs == ["#/components/schemas/CurrentStageOut"]
    stage = _properties("CurrentStageOut")
    assert "failed" in _enum(stage["status"])
    assert "live" in _enum(stage["kind"])
    figures = [s.get("$ref") for s in stage["figures"]["anyOf"]]
    assert "#/components/schemas/FiguresOut" in figures
