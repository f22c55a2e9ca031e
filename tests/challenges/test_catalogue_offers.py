"""A challenge's money offers beside its stages (catalogue/offers.py): the live stages' payout
schedule, the paid retry and the paid reset. Each boundary of the checks, then the API: a good
body is kept and shown as sent, a bad one is a 422 naming the field's path, and nothing is
kept (a new challenge is not made, a draft stays as it was)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from propdesk.api import api as ninja_api
from propdesk.challenges.catalogue import offers
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.catalogue.definition import PayoutTiming
from propdesk.challenges.models import Challenge
from propdesk.core.errors import ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.core.validation import FieldErrors
from tests.api.conftest import Api
from tests.challenges.factories import definition
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

SCHEDULE: dict[str, Any] = {
    "timing": "on_request",
    "first_after_days": 14,
    "every_days": 14,
    "min_payout": "50",
    "min_trading_days": 5,
    "consistency_pct": "40",
    "no_open_positions": True,
}
RETRY: dict[str, Any] = {"fee": "99.00", "discount_pct": "20", "discount_days": 7}
RESET: dict[str, Any] = {"fee": "49"}


def payouts(raw: Any, *, live: bool = True, currency: str = "USD") -> tuple[Any, dict[str, str]]:
    errors = FieldErrors()
    made = offers.clean_payouts(errors, raw, currency=currency, has_live=live)
    return made, errors.errors


def retry(raw: Any, currency: str = "USD") -> tuple[Any, dict[str, str]]:
    errors = FieldErrors()
    return offers.clean_retry(errors, raw, currency=currency), errors.errors


def reset(raw: Any, currency: str = "USD") -> tuple[Any, dict[str, str]]:
    errors = FieldErrors()
    return offers.clean_reset(errors, raw, currency=currency), errors.errors


# --- offers.py, its boundaries -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "taken"),
    [
        ("first_after_days", 0, True),
        ("first_after_days", 1, True),
        ("first_after_days", 365, True),
        ("first_after_days", 366, False),
        ("first_after_days", -1, False),
        ("every_days", 0, False),
        ("every_days", 1, True),
        ("every_days", 365, True),
        ("every_days", 366, False),
        ("min_trading_days", 0, True),
        ("min_trading_days", 365, True),
        ("min_trading_days", 366, False),
        ("first_after_days", "14", True),  # digits as text read as everywhere
        ("first_after_days", 14.0, False),
        ("first_after_days", True, False),
        ("every_days", 10**30, False),
    ],
)
def test_the_schedules_days_are_whole_numbers_within_a_year(key, value, taken):
    made, errors = payouts({"timing": "on_request", key: value})
    if taken:
        assert errors == {}
        assert getattr(made, key) == int(value)
    else:
        assert made is None
        assert set(errors) == {f"payouts.{key}"}


@pytest.mark.parametrize(
    ("days", "kept"),
    [
        ([1], (1,)),
        ([28], (28,)),
        ([15, 1, 15], (1, 15)),  # in order, once each
        (["1", "15"], (1, 15)),
        (list(range(1, 29)), tuple(range(1, 29))),
        ([29], None),
        ([0], None),
        ([-1], None),
        ([], None),
        (None, None),
        ("1, 15", None),
        ([1.5], None),
        ([True], None),
        ([1] * 29, None),
    ],
)
def test_fixed_days_are_one_or_more_days_from_1_to_28(days, kept):
    made, errors = payouts({"timing": "fixed_days", "fixed_days": days})
    if kept is None:
        assert made is None
        assert set(errors) == {"payouts.fixed_days"}
        assert "from 1 to 28" in errors["payouts.fixed_days"]
    else:
        assert errors == {}
        assert made.fixed_days == kept
        assert made.every_days is None


@pytest.mark.parametrize(
    ("value", "taken"),
    [
        ("0", False),
        ("0.01", True),
        ("40", True),
        ("100", True),
        ("100.01", False),
        ("12.345", False),
        ("-5", False),
        ("1E+1", False),
        (40.5, False),
        ("abc", False),
    ],
)
def test_consistency_is_a_percentage_above_0_up_to_100(value, taken):
    made, errors = payouts({"consistency_pct": value})
    if taken:
        assert errors == {}
        assert made.consistency_pct == Decimal(value)
    else:
        assert set(errors) == {"payouts.consistency_pct"}


@pytest.mark.parametrize(
    ("value", "kept", "fault"),
    [
        (None, "0", None),
        ("", "0", None),
        (0, "0", None),
        ("0.00", "0", None),
        ("50", "50.00", None),
        ("1000000", "1000000.00", None),
        ("1000000.01", None, "at most"),
        ("1" + "0" * 30, None, "too large"),
        ("-5", None, "cannot be negative"),
        ("12.345", None, "decimal places"),
        (True, None, "true or false"),
        (12.5, None, "not exact"),
    ],
)
def test_the_minimum_payout_is_an_amount_or_none(value, kept, fault):
    made, errors = payouts({"min_payout": value})
    if kept is not None:
        assert errors == {}
        assert made.min_payout == Decimal(kept)
    else:
        assert fault in errors["payouts.min_payout"], errors


def test_the_default_schedule_is_filled_in_for_what_is_left_out():
    made, errors = payouts({})
    assert errors == {}
    assert made == offers.DEFAULT_SCHEDULE
    assert made.to_json() == {
        "timing": "on_request",
        "first_after_days": 14,
        "every_days": 14,
        "min_payout": "0.00",
    }
    assert payouts({"timing": "fixed_days", "fixed_days": [1]})[0].to_json() == {
        "timing": "fixed_days",
        "first_after_days": 14,
        "every_days": None,
        "fixed_days": [1],
        "min_payout": "0.00",
    }


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"timing": "weekly"}, "payouts.timing"),
        ({"timing": ["on_request"]}, "payouts.timing"),
        ({"timing": "on_request", "fixed_days": [1]}, "payouts.fixed_days"),
        ({"timing": "fixed_days", "fixed_days": [1], "every_days": 14}, "payouts.every_days"),
        ({"no_open_positions": "yes"}, "payouts.no_open_positions"),
        ({"no_open_positions": None}, "payouts.no_open_positions"),
        ({"when": "monthly"}, "payouts.when"),
        ("weekly", "payouts"),
        ([SCHEDULE], "payouts"),
    ],
)
def test_a_wrong_schedule_names_its_path(raw, path):
    made, errors = payouts(raw)
    assert made is None
    assert path in errors, errors


def test_only_a_challenge_with_a_live_stage_has_a_schedule():
    made, errors = payouts(copy.deepcopy(SCHEDULE), live=False)
    assert made is None
    assert errors == {"payouts": "Only a challenge with a live stage pays out."}
    assert payouts(None, live=False) == (None, {})
    assert payouts(None, live=True) == (None, {})  # the default schedule applies


@pytest.mark.parametrize(
    ("raw", "path", "fault"),
    [
        ({"fee": "0"}, "retry.fee", "more than zero"),
        ({"fee": "-1"}, "retry.fee", "more than zero"),
        ({"fee": "1000000.01"}, "retry.fee", "at most 1000000"),
        ({"fee": "99.999"}, "retry.fee", "decimal places"),
        ({"fee": 99.5}, "retry.fee", "not exact"),
        ({}, "retry.fee", "required"),
        ({"fee": "99", "discount_pct": "0", "discount_days": 7}, "retry.discount_pct", "More"),
        ({"fee": "99", "discount_pct": "100", "discount_days": 7}, "retry.discount_pct", "less"),
        ({"fee": "99", "discount_pct": "20"}, "retry.discount_days", "both"),
        ({"fee": "99", "discount_days": 7}, "retry.discount_pct", "both"),
        ({"fee": "99", "discount_pct": "20", "discount_days": 0}, "retry.discount_days", "1 to"),
        ({"fee": "99", "discount_pct": "20", "discount_days": 366}, "retry.discount_days", "365"),
        ({"fee": "99", "price": "99"}, "retry.price", "Unknown field"),
        ("99.00", "retry", "An object"),
    ],
)
def test_a_wrong_retry_offer_names_its_path(raw, path, fault):
    made, errors = retry(raw)
    assert made is None
    assert fault in errors[path], errors


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ({"fee": "99"}, {"fee": "99.00"}),
        ({"fee": "1000000"}, {"fee": "1000000.00"}),
        (
            {"fee": "99", "discount_pct": "0.01", "discount_days": 1},
            {"fee": "99.00", "discount_pct": "0.01", "discount_days": 1},
        ),
        (
            {"fee": "99", "discount_pct": "99.99", "discount_days": 365},
            {"fee": "99.00", "discount_pct": "99.99", "discount_days": 365},
        ),
    ],
)
def test_a_retry_offer_is_kept_with_its_fee_in_cents(raw, kept):
    made, errors = retry(raw)
    assert errors == {}
    assert made.to_json() == kept


def test_a_reset_offer_is_a_fee_and_nothing_else():
    assert reset({"fee": "49"})[0].to_json() == {"fee": "49.00"}
    assert reset({"fee": "4900"}, currency="JPY")[0].to_json() == {"fee": "4900"}
    assert "decimal places" in reset({"fee": "49.5"}, currency="JPY")[1]["reset.fee"]
    assert "more than zero" in reset({"fee": "0"})[1]["reset.fee"]
    assert reset({"fee": "49", "discount_pct": "10"})[1] == {"reset.discount_pct": "Unknown field."}
    assert reset([])[1] == {"reset": "An object with the reset's fee, or null."}
    assert reset(None) == (None, {})


# --- the catalogue keeps them --------------------------------------------------------------------


def test_a_definition_keeps_its_offers_and_reads_them_back_typed(admin):
    made = definition(payouts=copy.deepcopy(SCHEDULE), retry=RETRY, reset=RESET)
    version = catalogue.create(made, actor=admin).draft()
    assert version.definition["payouts"] == {**SCHEDULE, "min_payout": "50.00"}
    assert version.definition["retry"] == RETRY
    assert version.definition["reset"] == {"fee": "49.00"}
    spec = version.spec
    assert spec.to_json() == version.definition
    assert spec.payouts is not None
    assert spec.payouts.timing == PayoutTiming.ON_REQUEST
    assert spec.payouts.min_payout == Decimal("50.00")
    assert spec.retry is not None
    assert spec.retry.discount_days == 7


def test_a_definition_without_offers_reads_back_as_it_always_did(admin):
    version = catalogue.create(definition(), actor=admin).draft()
    assert not {"payouts", "retry", "reset"} & set(version.definition)
    assert version.spec.payouts is None
    explicit_none = definition(payouts=None, retry=None, reset=None)
    again = catalogue.create(explicit_none, actor=admin).draft()
    assert again.definition == version.definition


def test_a_fault_in_an_offer_and_one_in_a_stage_are_named_together(admin):
    made = definition(retry={"fee": "-1"})
    made["stages"][0]["leverage"] = 0
    with pytest.raises(ValidationFailed) as refused:
        catalogue.create(made, actor=admin)
    assert set(refused.value.fields) == {"retry.fee", "stages.0.leverage"}
    assert not Challenge.objects.exists()


# --- the API -------------------------------------------------------------------------------------


@pytest.fixture
def token(admin) -> str:
    return Api().token(admin.email, PASSWORD)


def test_the_api_takes_the_offers_and_shows_them_as_kept(token):
    api = Api()
    body = definition(payouts=copy.deepcopy(SCHEDULE), retry=RETRY, reset=RESET)
    made = api.call("POST", "/challenges", body, token=token)
    assert made.status_code == 201, made.content
    shown = made.json()["draft"]
    assert shown["payouts"] == {**SCHEDULE, "min_payout": "50.00"}
    assert shown["retry"] == RETRY
    assert shown["reset"] == {"fee": "49.00"}
    again = api.call("GET", f"/challenges/{made.json()['id']}", token=token).json()
    assert again["draft"] == shown
    # What was read back is a body the API takes again, unchanged.
    put = api.call("PUT", f"/challenges/{made.json()['id']}/draft", shown, token=token)
    assert put.status_code == 200, put.content
    assert put.json()["draft"] == shown


def test_the_draft_update_sets_changes_and_removes_the_offers(token, admin, challenge):
    api = Api()
    body = copy.deepcopy(challenge.published().definition)
    body["payouts"] = {"timing": "fixed_days", "fixed_days": [15, 1], "first_after_days": 30}
    body["reset"] = {"fee": "49.00"}
    response = api.call("PUT", f"/challenges/{challenge.pk}/draft", body, token=token)
    assert response.status_code == 200, response.content
    draft = response.json()["draft"]
    assert draft["payouts"] == {
        "timing": "fixed_days",
        "first_after_days": 30,
        "every_days": None,
        "fixed_days": [1, 15],
        "min_payout": "0.00",
    }
    assert draft["reset"] == {"fee": "49.00"}
    assert "retry" not in draft
    del body["reset"]
    again = api.call("PUT", f"/challenges/{challenge.pk}/draft", body, token=token).json()
    assert "reset" not in again["draft"]
    assert "payouts" not in challenge.published().definition  # the published version as it was


BAD_BODIES = [
    ({"payouts": "every 14 days"}, "payouts"),
    ({"payouts": {**SCHEDULE, "when": "monthly"}}, "payouts.when"),
    ({"payouts": {"first_after_days": "fourteen"}}, "payouts.first_after_days"),
    ({"payouts": {"first_after_days": 10**30}}, "payouts.first_after_days"),
    ({"payouts": {"every_days": 10**30}}, "payouts.every_days"),
    ({"payouts": {"min_payout": "9" * 39}}, "payouts.min_payout"),
    ({"payouts": {"min_payout": "-50"}}, "payouts.min_payout"),
    ({"payouts": {"consistency_pct": "1" + "0" * 30}}, "payouts.consistency_pct"),
    ({"payouts": {"timing": "fixed_days", "fixed_days": [0]}}, "payouts.fixed_days"),
    ({"payouts": {"timing": "fixed_days", "fixed_days": [29]}}, "payouts.fixed_days"),
    ({"payouts": {"timing": "fixed_days", "fixed_days": []}}, "payouts.fixed_days"),
    ({"payouts": {"timing": "fixed_days"}}, "payouts.fixed_days"),
    ({"payouts": {"timing": "monthly"}}, "payouts.timing"),
    ({"retry": {"fee": "-99"}}, "retry.fee"),
    ({"retry": {"fee": "1" + "0" * 30}}, "retry.fee"),
    ({"retry": {"fee": "99", "discount_pct": "20"}}, "retry.discount_days"),
    ({"retry": {"fee": "99", "discount_days": 7}}, "retry.discount_pct"),
    (
        {"retry": {"fee": "99", "discount_pct": "20", "discount_days": 10**30}},
        "retry.discount_days",
    ),
    ({"retry": ["99"]}, "retry"),
    ({"retry": {"fee": "99", "fee_pct": "5"}}, "retry.fee_pct"),
    ({"reset": {"fee": "-1"}}, "reset.fee"),
    ({"reset": {"fee": None}}, "reset.fee"),
    ({"reset": True}, "reset"),
    ({"reset": {"fee": "49", "<b>fee</b>": 1}}, "reset.<b>fee</b>"),
]


@pytest.mark.parametrize(("changes", "path"), BAD_BODIES)
def test_a_bad_offer_over_the_api_is_a_422_naming_its_path_and_nothing_is_made(
    token, changes, path
):
    response = Api().call("POST", "/challenges", definition(**changes), token=token)
    assert response.status_code == 422, response.content
    assert response.json()["message"] == "The challenge's definition has faults."
    assert path in response.json()["fields"], response.json()
    assert not Challenge.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="challenges.").exists()


def test_payouts_on_a_challenge_with_no_live_stage_are_refused_over_the_api(token):
    body = definition(payouts=copy.deepcopy(SCHEDULE))
    body["stages"] = body["stages"][:2]  # the two demo stages
    response = Api().call("POST", "/challenges", body, token=token)
    assert response.status_code == 422
    assert response.json()["fields"] == {"payouts": "Only a challenge with a live stage pays out."}
    assert not Challenge.objects.exists()
    del body["payouts"]
    body["retry"] = RETRY  # a retry or a reset needs no live stage
    assert Api().call("POST", "/challenges", body, token=token).status_code == 201


@pytest.mark.parametrize(("changes", "path"), BAD_BODIES[::3])
def test_a_bad_offer_in_a_draft_update_leaves_the_challenge_as_it_was(
    token, challenge, changes, path
):
    before = [(v.number, v.state, v.definition) for v in challenge.versions.all()]
    audited = AuditRecord.objects.count()
    body = {**copy.deepcopy(challenge.published().definition), **changes}
    response = Api().call("PUT", f"/challenges/{challenge.pk}/draft", body, token=token)
    assert response.status_code == 422, response.content
    assert path in response.json()["fields"]
    assert [(v.number, v.state, v.definition) for v in challenge.versions.all()] == before
    assert AuditRecord.objects.count() == audited


def test_the_openapi_documents_the_offers():
    components = ninja_api.get_openapi_schema()["components"]["schemas"]
    taken = components["ChallengeDefinitionIn"]["properties"]
    assert {"payouts", "retry", "reset"} <= set(taken)
    schedule = components["PayoutScheduleIn"]["properties"]
    assert schedule["first_after_days"]["maximum"] == 365
    assert schedule["fixed_days"]["maxItems"] == 28
    assert components["PayoutTiming"]["enum"] == ["on_request", "fixed_days"]
    assert components["RetryOfferIn"]["required"] == ["fee"]
    assert components["ResetOfferIn"]["required"] == ["fee"]
    shown = components["ChallengeDefinition"]["properties"]
    assert {"payouts", "retry", "reset"} <= set(shown)
