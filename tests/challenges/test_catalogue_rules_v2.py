"""The catalogue takes every version-2 rule (docs/rules.md): trading days, open position and
volume limits, the weekend close, the day's-peak daily loss basis and the max loss lock offset.
Kept in the contract's canonical form, refused with the key named when wrong (and nothing kept),
documented in the OpenAPI, and worded where a definition is shown or compared."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

import pytest

from propdesk.api import api as ninja_api
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Challenge
from propdesk.core.errors import ValidationFailed
from propdesk.rules.model import Rules
from tests.api.conftest import Api
from tests.challenges.factories import definition
from tests.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db

V2_RULES: dict[str, Any] = {
    "profit_target_pct": "8",
    "max_daily_loss": {"pct": "5", "basis": "day_peak_equity"},
    "max_loss": {"pct": "10", "mode": "trailing_eod", "lock_offset": "100.00"},
    "min_trading_days": 4,
    "trading_day": {"counts": "opened_and_closed", "min_profit_pct": "0.5"},
    "max_open_positions": 5,
    "max_open_volume": "10",
    "weekend_close": {"day": "friday", "time": "21:00"},
}


def with_rules(**rules: Any) -> dict[str, Any]:
    """The 2-step challenge with its first stage's rules replaced."""
    made = definition()
    made["stages"][0]["rules"] = rules
    return made


def test_every_version_2_rule_is_kept_in_the_contracts_canonical_form(admin):
    challenge = catalogue.create(with_rules(**copy.deepcopy(V2_RULES)), actor=admin)
    version = challenge.draft()
    kept = version.definition["stages"][0]["rules"]
    given = {**V2_RULES, "initial_balance": "100000.00", "timezone": "Europe/Prague"}
    assert kept == Rules.parse(given).to_dict()
    assert kept["trading_day"] == {"counts": "opened_and_closed", "min_profit_pct": "0.5"}
    assert kept["max_loss"]["lock_offset"] == "100.00"
    assert kept["weekend_close"] == {"day": "friday", "time": "21:00"}
    assert version.spec.to_json() == version.definition  # read back typed, unchanged
    rules = version.spec.stages[0].rules.to_rules()
    assert rules.max_open_positions == 5
    assert rules.max_open_volume == Decimal("10")
    assert rules.max_loss is not None
    assert rules.max_loss.lock_offset == Decimal("100.00")
    assert rules.max_daily_loss is not None
    assert rules.max_daily_loss.basis == "day_peak_equity"
    assert rules.weekend_close is not None
    assert rules.weekend_close.day == "friday"


def test_a_version_1_stage_keeps_the_canonical_form_it_always_had(admin):
    version = catalogue.create(definition(), actor=admin).draft()
    first = version.definition["stages"][0]["rules"]
    assert set(first) == {
        "initial_balance",
        "timezone",
        "day_reset",
        "profit_target_pct",
        "max_daily_loss",
        "max_loss",
        "max_loss_per_trade_pct",
        "min_trading_days",
        "trading_period_days",
        "inactivity_days",
        "best_day_max_pct",
        "upgrade_immediately",
    }
    assert first["max_loss"] == {"pct": "10", "mode": "static", "lock_at_initial": True}
    assert version.spec.to_json() == version.definition


def test_rules_at_their_defaults_are_not_kept(admin):
    made = with_rules(
        max_loss={"pct": "10", "mode": "static", "lock_offset": "0"},
        trading_day={"counts": "opened"},
        max_open_positions=None,
        weekend_close=None,
    )
    kept = catalogue.create(made, actor=admin).draft().definition["stages"][0]["rules"]
    assert "trading_day" not in kept
    assert "max_open_positions" not in kept
    assert "weekend_close" not in kept
    assert "lock_offset" not in kept["max_loss"]


@pytest.mark.parametrize(
    ("rules", "named"),
    [
        ({"max_open_positions": 0}, "max_open_positions"),
        ({"max_open_positions": -3}, "max_open_positions"),
        ({"max_open_positions": "abc"}, "max_open_positions"),
        ({"max_open_positions": "5"}, "max_open_positions"),
        ({"max_open_positions": True}, "max_open_positions"),
        ({"max_open_positions": 2.5}, "max_open_positions"),
        ({"max_open_positions": 10**30}, "max_open_positions"),
        ({"max_open_volume": "0"}, "max_open_volume"),
        ({"max_open_volume": "-1"}, "max_open_volume"),
        ({"max_open_volume": "1E+3"}, "max_open_volume"),
        ({"max_open_volume": "abc"}, "max_open_volume"),
        ({"max_open_volume": "NaN"}, "max_open_volume"),
        ({"max_open_volume": "1000001"}, "max_open_volume"),
        ({"max_open_volume": "0.000000001"}, "max_open_volume"),
        ({"weekend_close": {"day": "friday"}}, "weekend_close.time"),
        ({"weekend_close": {"time": "21:00"}}, "weekend_close.day"),
        ({"weekend_close": {"day": "funday", "time": "21:00"}}, "weekend_close.day"),
        ({"weekend_close": {"day": "Friday", "time": "21:00"}}, "weekend_close.day"),
        ({"weekend_close": {"day": "friday", "time": "25:00"}}, "weekend_close.time"),
        ({"weekend_close": {"day": "friday", "time": "9:00"}}, "weekend_close.time"),
        ({"weekend_close": {"day": "friday", "time": 2100}}, "weekend_close.time"),
        ({"weekend_close": {"day": "friday", "time": "21:00", "tz": "UTC"}}, "weekend_close.tz"),
        ({"weekend_close": "friday 21:00"}, "weekend_close"),
        ({"max_loss": {"pct": "10", "mode": "trailing_eod", "lock_offset": "-100"}}, "lock_offset"),
        ({"max_loss": {"pct": "10", "mode": "trailing_eod", "lock_offset": "x"}}, "lock_offset"),
        ({"max_loss": {"pct": "10", "mode": "trailing_eod", "lock_offset": None}}, "lock_offset"),
        (
            {"max_loss": {"pct": "10", "mode": "trailing_eod", "lock_offset": "100001"}},
            "lock_offset",
        ),
        ({"max_loss": {"mode": "trailing_eod", "lock_offset": "100"}}, "max_loss.pct"),
        ({"trading_day": {"counts": "sometimes"}}, "trading_day.counts"),
        ({"trading_day": {"min_profit_pct": "100"}}, "trading_day.min_profit_pct"),
        ({"trading_day": {"min_profit_pct": "0"}}, "trading_day.min_profit_pct"),
        ({"trading_day": {"min_profit_pct": "-1"}}, "trading_day.min_profit_pct"),
        ({"trading_day": None}, "trading_day"),
        ({"trading_day": {"count": "opened"}}, "trading_day.count"),
        ({"max_daily_loss": {"pct": "5", "basis": "day_peak"}}, "max_daily_loss.basis"),
        ({"min_trading_days": 31, "trading_period_days": 30}, "min_trading_days"),
        ({"max_loss": {"pct": "10", "mode": "static", "lock_offset": "100"}}, "lock_offset"),
        (
            {
                "max_loss": {
                    "pct": "10",
                    "mode": "trailing_eod",
                    "lock_at_initial": False,
                    "lock_offset": "100",
                }
            },
            "lock_offset",
        ),
    ],
)
def test_a_bad_version_2_rule_is_refused_naming_its_key_and_nothing_is_kept(admin, rules, named):
    with pytest.raises(ValidationFailed) as refused:
        catalogue.create(with_rules(**rules), actor=admin)
    message = refused.value.fields["stages.0.rules"]
    assert named in message, message
    assert not Challenge.objects.exists()


def test_a_bad_rule_in_a_new_draft_leaves_the_challenge_as_it_was(admin, challenge):
    before = [v.definition for v in challenge.versions.all()]
    made = copy.deepcopy(challenge.published().definition)
    made["stages"][1]["rules"]["weekend_close"] = {"day": "friday"}
    with pytest.raises(ValidationFailed) as refused:
        catalogue.save_draft(challenge.pk, made, actor=admin)
    assert "weekend_close.time" in refused.value.fields["stages.1.rules"]
    assert [v.definition for v in challenge.versions.all()] == before
    assert challenge.draft() is None


# --- the API -------------------------------------------------------------------------------------


def test_the_api_takes_and_shows_the_version_2_rules(admin):
    api = Api()
    token = api.token(admin.email, PASSWORD)
    made = api.call("POST", "/challenges", with_rules(**copy.deepcopy(V2_RULES)), token=token)
    assert made.status_code == 201, made.content
    shown = made.json()["draft"]["stages"][0]["rules"]
    assert shown["max_open_positions"] == 5
    assert shown["max_open_volume"] == "10"
    assert shown["weekend_close"] == {"day": "friday", "time": "21:00"}
    assert shown["max_daily_loss"]["basis"] == "day_peak_equity"
    assert shown["max_loss"]["lock_offset"] == "100.00"
    assert shown["trading_day"] == {"counts": "opened_and_closed", "min_profit_pct": "0.5"}
    again = api.call("GET", f"/challenges/{made.json()['id']}", token=token).json()
    assert again["draft"] == made.json()["draft"]
    unset = again["draft"]["stages"][1]["rules"]
    assert "weekend_close" not in unset
    assert "lock_offset" not in unset["max_loss"]


@pytest.mark.parametrize(
    ("rules", "named"),
    [
        ({"max_open_positions": 0}, "max_open_positions"),
        ({"max_open_positions": "abc"}, "max_open_positions"),
        ({"max_open_positions": 10**30}, "max_open_positions"),
        ({"weekend_close": {"day": "friday"}}, "weekend_close.time"),
        ({"max_loss": {"pct": "10", "mode": "trailing_eod", "lock_offset": "-1"}}, "lock_offset"),
        ({"trading_day": {"min_profit_pct": "100"}}, "trading_day.min_profit_pct"),
        ({"max_open_volume": "\u0661\u0660"}, "max_open_volume"),  # Arabic-Indic 10
        ({"weekend_close": {"day": "friday\x00", "time": "21:00"}}, "stages.0.rules"),
    ],
)
def test_a_bad_version_2_rule_over_the_api_is_a_422_naming_it(admin, rules, named):
    api = Api()
    response = api.call(
        "POST", "/challenges", with_rules(**rules), token=api.token(admin.email, PASSWORD)
    )
    assert response.status_code == 422, response.content
    fields = response.json()["fields"]
    assert any(named in path or named in message for path, message in fields.items()), fields
    assert not Challenge.objects.exists()


def test_the_openapi_documents_the_version_2_rules():
    components = ninja_api.get_openapi_schema()["components"]["schemas"]
    taken = components["StageRulesIn"]["properties"]
    assert {"trading_day", "max_open_positions", "max_open_volume", "weekend_close"} <= set(taken)
    positions = taken["max_open_positions"]["anyOf"][0]
    assert positions["minimum"] == 1
    assert positions["maximum"] == 10_000
    assert "lock_offset" in components["MaxLossLimitIn"]["properties"]
    assert set(components["WeekendCloseIn"]["required"]) == {"day", "time"}
    assert "day_peak_equity" in components["DailyLossBasis"]["enum"]
    assert components["Weekday"]["enum"][4] == "friday"
    assert components["TradingDayCounts"]["enum"] == ["opened", "opened_and_closed"]
    shown = components["StageRules"]["properties"]
    assert {"trading_day", "max_open_positions", "max_open_volume", "weekend_close"} <= set(shown)


# --- in words ------------------------------------------------------------------------------------


def row(html: str, path: str) -> str:
    found = re.search(rf'<tr data-path="{re.escape(path)}">(.*?)</tr>', html, re.S)
    assert found is not None, f"no row {path}"
    return found[1]


def test_the_comparison_lists_the_new_rules_in_words(admin, challenge):
    made = copy.deepcopy(challenge.published().definition)
    made["stages"][0]["rules"].update(copy.deepcopy(V2_RULES))
    catalogue.save_draft(challenge.pk, made, actor=admin)
    html = logged_in(admin).get(f"/backoffice/prop-trading/challenges/{challenge.pk}/").content
    page = html.decode().replace("&#x27;", "'")
    trading_day = row(page, "stages.0.rules.trading_day")
    assert (
        "Trading day: a day with a position opened and closed the same day, and at least 0.5% "
        "profit" in trading_day
    )
    assert "At most 5 positions open at once" in row(page, "stages.0.rules.max_open_positions")
    assert "At most 10 lots open at once" in row(page, "stages.0.rules.max_open_volume")
    weekend = row(page, "stages.0.rules.weekend_close")
    assert "Every position closed by Friday 21:00 (Europe/Prague)" in weekend
    assert "Day's highest equity" in row(page, "stages.0.rules.max_daily_loss.basis")
    assert "100.00" in row(page, "stages.0.rules.max_loss.lock_offset")
    # The draft in full, as the published version will read.
    assert "At most 5 positions / 10 lots open at once" in page
    assert "Daily loss measured from the day's highest equity" in page
    assert "Trailing stops 100.00 above the start" in page


def test_a_changed_part_of_a_new_rule_is_compared_in_words(admin):
    first = with_rules(
        trading_day={"counts": "opened"}, weekend_close={"day": "friday", "time": "21:00"}
    )
    first["stages"][0]["rules"]["trading_day"] = {"counts": "opened_and_closed"}
    challenge = catalogue.create(first, actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    second = copy.deepcopy(first)
    second["stages"][0]["rules"]["trading_day"] = {"counts": "opened", "min_profit_pct": "1"}
    second["stages"][0]["rules"]["weekend_close"]["day"] = "saturday"
    catalogue.save_draft(challenge.pk, second, actor=admin)
    html = logged_in(admin).get(f"/backoffice/prop-trading/challenges/{challenge.pk}/")
    page = html.content.decode()
    counts = row(page, "stages.0.rules.trading_day.counts")
    assert "opened and closed the same day" in counts
    assert "A day with a position opened" in counts
    assert "Stage 1 (Challenge) \u203a Rules \u203a Trading day \u203a counts" in counts
    day = row(page, "stages.0.rules.weekend_close.day")
    assert "Friday" in day
    assert "Saturday" in day


def test_the_published_definition_shows_each_new_rule_as_a_line(admin):
    made = with_rules(**copy.deepcopy(V2_RULES))
    made["stages"][0]["rules"]["max_daily_loss"]["action"] = "pause"
    challenge = catalogue.create(made, actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    html = logged_in(admin).get(f"/backoffice/prop-trading/challenges/{challenge.pk}/")
    stage = re.search(r'<tr data-stage="1">(.*?)</tr>', html.content.decode(), re.S)
    assert stage is not None
    lines = [line.replace("&#x27;", "'") for line in re.findall(r"<li>(.*?)</li>", stage[1], re.S)]
    assert (
        "Trading day: a day with a position opened and closed the same day, and at least 0.5% "
        "profit"
    ) in lines
    assert "At most 5 positions / 10 lots open at once" in lines
    assert "Every position closed by Friday 21:00 (Europe/Prague)" in lines
    daily = next(line for line in lines if line.startswith("Max daily loss"))
    assert "a breach pauses" in daily
    assert "Daily loss measured from the day's highest equity" in daily
    max_loss = next(line for line in lines if line.startswith("Max loss"))
    assert max_loss.endswith("Trailing stops 100.00 above the start")


def test_a_new_rule_compared_with_its_absence_says_it_is_not_set(admin, challenge):
    made = copy.deepcopy(challenge.published().definition)
    made["stages"][0]["rules"].update(copy.deepcopy(V2_RULES))
    catalogue.save_draft(challenge.pk, made, actor=admin)
    html = logged_in(admin).get(f"/backoffice/prop-trading/challenges/{challenge.pk}/").content
    page = html.decode().replace("&#x27;", "'")
    assert "<td>no limit</td>" in row(page, "stages.0.rules.max_open_positions")
    assert "<td>no weekend close</td>" in row(page, "stages.0.rules.weekend_close")
    offset = row(page, "stages.0.rules.max_loss.lock_offset")
    assert "<td>no lock offset</td>" in offset
    assert "Trailing stops 100.00 above the start" in offset
