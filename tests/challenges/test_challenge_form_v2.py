"""The back office's stage form takes every version-2 rule: what the form builds is what the API
takes, the edit form shows what is kept, and a wrong value lands on its own field with nothing
saved. Presets fill the new-challenge form with a rule book to edit."""

from __future__ import annotations

import copy
from html.parser import HTMLParser
from typing import Any

import pytest

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.catalogue.presets import PRESETS, preset_definition, preset_spec
from propdesk.challenges.models import Challenge
from propdesk.core.errors import NotFound
from propdesk.core.models import AuditRecord
from propdesk.rules.model import Rules
from tests.challenges.factories import TWO_STEP
from tests.challenges.form_data import LIST, NEW, SHOWN_SCHEDULE, challenge_form, with_row
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db

V2_ROW = {
    "daily_loss_pct": "5",
    "daily_loss_basis": "day_peak_equity",
    "max_loss_pct": "10",
    "max_loss_mode": "trailing_eod",
    "max_loss_lock_offset": "1,000.00",  # as the pages write amounts
    "trading_day_counts": "opened_and_closed",
    "trading_day_min_profit_pct": "0.5 %",
    "max_open_positions": "5",
    "max_open_volume": "10",
    "weekend_close_day": "friday",
    "weekend_close_time": "21:00",
}


def test_the_form_takes_every_version_2_rule_as_the_api_does(admin):
    response = post_form(logged_in(admin), NEW, challenge_form(with_row(0, **V2_ROW)))
    assert response.status_code == 302, response.content.decode()[:3000]
    by_form = Challenge.objects.get().draft().definition
    made = copy.deepcopy(TWO_STEP)
    made["tags"] = ["2-step", "100K"]
    made["payouts"] = SHOWN_SCHEDULE  # with a live stage, the form keeps the schedule shown
    made["stages"][0]["rules"].update(
        {
            "max_daily_loss": {"pct": "5", "basis": "day_peak_equity"},
            "max_loss": {"pct": "10", "mode": "trailing_eod", "lock_offset": "1000.00"},
            "trading_day": {"counts": "opened_and_closed", "min_profit_pct": "0.5"},
            "max_open_positions": 5,
            "max_open_volume": "10",
            "weekend_close": {"day": "friday", "time": "21:00"},
        }
    )
    assert by_form == catalogue.clean_definition(made).to_json()
    assert by_form["stages"][0]["rules"]["weekend_close"] == {"day": "friday", "time": "21:00"}


def test_the_edit_form_shows_the_kept_version_2_rules(admin):
    post_form(logged_in(admin), NEW, challenge_form(with_row(0, **V2_ROW)))
    challenge = Challenge.objects.get()
    html = logged_in(admin).get(f"{LIST}{challenge.pk}/edit/").content.decode()
    assert 'name="stage-0-max_loss_lock_offset" value="1000.00"' in html
    assert 'name="stage-0-trading_day_min_profit_pct" value="0.5"' in html
    assert 'name="stage-0-max_open_positions" value="5"' in html
    assert 'name="stage-0-max_open_volume" value="10"' in html
    assert 'name="stage-0-weekend_close_time" value="21:00"' in html
    assert '<option value="friday" selected>' in html
    assert '<option value="day_peak_equity" selected>' in html
    assert '<option value="opened_and_closed" selected>' in html
    assert 'name="stage-1-weekend_close_time" value=""' not in html  # empty: no value at all


@pytest.mark.parametrize(
    ("changes", "field", "said"),
    [
        ({"max_open_positions": "0"}, "max_open_positions", "from 1 to 10000"),
        ({"max_open_positions": "abc"}, "max_open_positions", "whole number"),
        ({"max_open_positions": "1" + "0" * 30}, "max_open_positions", "from 1 to 10000"),
        ({"max_open_volume": "abc"}, "max_open_volume", "must be a number"),
        ({"max_open_volume": "0"}, "max_open_volume", "> 0"),
        ({"max_open_volume": "2000000"}, "max_open_volume", "at most 100000"),
        ({"weekend_close_day": "friday"}, "weekend_close_time", "Required"),
        ({"weekend_close_time": "21:00"}, "weekend_close_day", "Required"),
        (
            {"weekend_close_day": "friday", "weekend_close_time": "9pm"},
            "weekend_close_time",
            "HH:MM",
        ),
        ({"weekend_close_day": "someday"}, "weekend_close_day", "valid choice"),
        (
            {"max_loss_mode": "trailing_eod", "max_loss_lock_offset": "-100"},
            "max_loss_lock_offset",
            "negative",
        ),
        ({"max_loss_pct": "", "max_loss_lock_offset": "100"}, "max_loss_pct", "Required"),
        ({"max_loss_lock_offset": "200000"}, "max_loss_lock_offset", "account size"),
        ({"trading_day_min_profit_pct": "100"}, "trading_day_min_profit_pct", "< 100"),
        ({"trading_day_min_profit_pct": "abc"}, "trading_day_min_profit_pct", "Must be a number"),
        ({"trading_day_counts": "always"}, "trading_day_counts", "valid choice"),
        ({"daily_loss_basis": "day_peak"}, "daily_loss_basis", "valid choice"),
    ],
)
def test_a_wrong_version_2_value_lands_on_its_field_and_nothing_is_saved(
    admin, changes, field, said
):
    response = post_form(logged_in(admin), NEW, challenge_form(with_row(0, **changes)))
    assert response.status_code == 422
    html = response.content.decode().replace("&lt;", "<").replace("&gt;", ">")
    errors = html.partition(f'id="stage-0-{field}-errors">')[2].partition("</ul>")[0]
    assert said in errors, errors or html[html.find("form-faults") :][:1500]
    assert not Challenge.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="challenges.").exists()


def test_a_wrong_value_in_an_edit_changes_nothing(admin):
    post_form(logged_in(admin), NEW, challenge_form())
    challenge = Challenge.objects.get()
    before = challenge.draft().definition
    response = post_form(
        logged_in(admin),
        f"{LIST}{challenge.pk}/edit/",
        challenge_form(with_row(1, weekend_close_day="sunday")),
    )
    assert response.status_code == 422
    assert 'id="stage-1-weekend_close_time-errors"' in response.content.decode()
    assert Challenge.objects.get().draft().definition == before
    assert challenge.versions.count() == 1


# --- presets -------------------------------------------------------------------------------------


def test_every_presets_stages_parse_with_the_contracts_parser():
    assert set(PRESETS) == {"two_step", "one_step", "futures", "intraday"}
    for key in PRESETS:
        made = preset_definition(key)
        for stage in made["stages"]:
            rules = Rules.parse(
                {
                    **stage["rules"],
                    "initial_balance": stage["balance"],
                    "timezone": made["time_zone"],
                }
            )
            assert rules.initial_balance > 0, key


def test_every_preset_is_a_definition_the_catalogue_takes(admin):
    for key in PRESETS:
        challenge = catalogue.create(preset_definition(key), actor=admin)
        assert (
            challenge.draft().spec.to_json()
            == preset_spec(key)
            .model_copy(update={"platform": "Sandbox", "stages": challenge.draft().spec.stages})
            .to_json()
        )


def test_the_presets_are_the_four_styles_of_rule_book():
    two = [preset_spec("two_step").stages[n].rules for n in range(2)]
    assert [r.profit_target_pct for r in two] == [10, 5]
    assert two[0].max_daily_loss is not None
    assert two[0].max_daily_loss.basis == "prev_day_balance"
    assert two[0].max_loss is not None
    assert (two[0].max_loss.pct, two[0].max_loss.mode) == (10, "static")
    one = preset_spec("one_step").stages[0].rules
    assert one.max_loss is not None
    assert one.max_loss.mode == "trailing_eod"
    assert one.best_day_max_pct is not None
    futures = preset_spec("futures").stages[0].rules
    assert futures.max_loss is not None
    assert futures.max_loss.mode == "trailing_eod"
    assert futures.max_loss.lock_offset > 0
    assert futures.weekend_close is not None
    intraday = preset_spec("intraday").stages[0].rules
    assert intraday.max_daily_loss is not None
    assert intraday.max_daily_loss.basis == "day_peak_equity"
    names = " ".join(p.label + p.summary for p in PRESETS.values()).lower()
    assert not any(firm in names for firm in ("ftmo", "topstep", "apex", "funded next"))


def test_an_unknown_preset_is_not_found():
    for key in ("", "ftmo", None, ["two_step"]):
        with pytest.raises(NotFound):
            preset_definition(key)


class FormValues(HTMLParser):
    """What a browser would post for the challenge form as shown: inputs' values, ticked boxes,
    the selected option (or the first one)."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, list[str]] = {}
        self.in_form = False
        self.select: str | None = None
        self.first: str | None = None
        self.chosen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "form":
            self.in_form = a.get("id") == "challenge-form"
        if not self.in_form:
            return
        name = a.get("name") or ""
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.values.setdefault(name, []).append(
                a.get("value") or ("on" if kind == "checkbox" else "")
            )
        elif tag == "select":
            self.select, self.first, self.chosen = name, None, False
        elif tag == "option" and self.select:
            if self.first is None:
                self.first = a.get("value") or ""
            if "selected" in a:
                self.values[self.select] = [a.get("value") or ""]
                self.chosen = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self.select:
            if not self.chosen:
                self.values[self.select] = [self.first or ""]
            self.select = None
        if tag == "form":
            self.in_form = False


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_a_preset_fills_the_new_challenge_form_and_saves_as_it_is(admin, key):
    http = logged_in(admin)
    page = http.get(f"{NEW}?preset={key}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Start from a preset" in html
    assert f'<option value="{key}" selected>' in html
    assert 'id="preset-note"' in html
    assert not Challenge.objects.exists()  # filling the form saves nothing
    shown = FormValues()
    shown.feed(html)
    data: dict[str, Any] = {k: v if len(v) > 1 else v[0] for k, v in shown.values.items()}
    data.pop("csrfmiddlewaretoken", None)
    response = post_form(http, NEW, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    saved = Challenge.objects.get().draft().definition
    assert saved == catalogue.clean_definition(preset_definition(key)).to_json()


def test_the_new_challenge_page_offers_every_preset_and_the_edit_page_none(admin):
    http = logged_in(admin)
    html = http.get(NEW).content.decode()
    for preset in PRESETS.values():
        assert f'<option value="{preset.key}">{preset.label}' in html
    assert 'id="preset-note"' not in html
    post_form(http, NEW, challenge_form())
    edit = http.get(f"{LIST}{Challenge.objects.get().pk}/edit/").content.decode()
    assert "Start from a preset" not in edit


def test_an_unknown_preset_shows_the_empty_form_saying_so(admin):
    assert logged_in(admin).get(f"{NEW}?preset=two_step%00").status_code == 400  # the guard's
    response = logged_in(admin).get(f"{NEW}?preset=ftmo")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'id="preset-error"' in html
    assert "No such preset" in html
    assert 'name="name" value=' not in html  # the empty form
