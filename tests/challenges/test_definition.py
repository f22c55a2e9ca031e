"""The typed definition: a kept version reads back as ChallengeDefinition unchanged, the inside
reads its enums and decimals, and the API documents its structure while the catalogue still
names every fault."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from propdesk.api import api as ninja_api
from propdesk.challenges.catalogue.definition import (
    ChallengeDefinition,
    MaxLossMode,
    PaymentWay,
    Progression,
    StageKind,
)
from propdesk.challenges.models import StageAttempt
from tests.api.conftest import Api
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_kept_definition_reads_back_typed_and_unchanged(challenge):
    version = challenge.published()
    spec = version.spec
    assert isinstance(spec, ChallengeDefinition)
    assert spec.to_json() == version.definition  # the JSON kept is the JSON read back
    assert spec.fee == Decimal("499.00")
    assert spec.payment_ways == (PaymentWay.WALLET, PaymentWay.DIRECT)
    assert spec.progression == Progression.AUTOMATIC
    assert [s.kind for s in spec.stages] == [StageKind.DEMO, StageKind.DEMO, StageKind.LIVE]
    funded = spec.stages[2]
    assert funded.is_live
    assert funded.profit_share_pct == Decimal("80")
    assert funded.rules.max_loss is not None
    assert funded.rules.max_loss.mode == MaxLossMode.TRAILING_EOD
    assert funded.rules.to_rules().initial_balance == Decimal("100000.00")


def test_a_stage_attempt_kind_is_one_of_the_stage_kinds():
    assert StageAttempt._meta.get_field("kind").choices == StageKind.choices


def test_the_openapi_documents_the_definition_taken_and_shown():
    schema = ninja_api.get_openapi_schema()
    components = schema["components"]["schemas"]
    body = schema["paths"]["/api/v1/challenges"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["$ref"].endswith("/ChallengeDefinitionIn")
    taken = components["ChallengeDefinitionIn"]
    assert {"name", "currency", "fee", "payment_ways", "stages"} <= set(taken["required"])
    shown = components["ChallengeOut"]["properties"]["definition"]
    assert shown["$ref"].endswith("/ChallengeDefinition")
    assert components["StageKind"]["enum"] == ["demo", "live"]
    assert components["StageDefinition"]["properties"]["kind"]["$ref"].endswith("/StageKind")


def test_a_definition_the_schema_would_refuse_is_answered_by_the_catalogue(admin, challenge):
    token = Api().token(admin.email, PASSWORD)
    made = copy.deepcopy(challenge.published().definition)
    made["currency"] = {"code": "USD"}  # neither the schema's nor the catalogue's
    made["stages"][0]["leverage"] = "abc"
    response = Api().call("POST", "/challenges", made, token=token)
    assert response.status_code == 422
    assert response.json()["message"] == "The challenge's definition has faults."
    assert response.json()["fields"] == {
        "currency": "Currency is one of: USD, EUR, GBP, CHF, CZK, PLN, AUD, CAD, JPY.",
        "stages.0.leverage": "A whole number from 1 to 1000.",
    }
