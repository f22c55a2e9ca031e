"""The back office's challenge form takes the payout schedule, the paid retry and the paid reset
(the Payouts, Retry and Reset sections): what it builds is what the API takes, the edit form
shows what is kept, a wrong value lands on its own field with nothing saved. The challenge's
page, its comparison and the client's catalogue page say each offer in words, and what an absent
one means. The presets pay their live stage on a schedule."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.catalogue.offers import DEFAULT_SCHEDULE
from propdesk.challenges.catalogue.presets import PRESETS, preset_spec
from propdesk.challenges.catalogue.wording import payout_schedule_text
from propdesk.challenges.models import Challenge
from propdesk.core.models import AuditRecord
from tests.challenges.factories import TWO_STEP, definition
from tests.challenges.form_data import LIST, NEW, TWO_STEP_ROWS, challenge_form
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db

FIXED = {
    "payouts__timing": "fixed_days",
    "payouts__first_after_days": "30",
    "payouts__every_days": "14",  # shown, and not this timing's: not sent
    "payouts__fixed_days": "15, 1",
    "payouts__min_payout": "1,000.00",  # as the pages write amounts
    "payouts__min_trading_days": "5",
    "payouts__consistency_pct": "40 %",
    "payouts__no_open_positions": "on",
    "retry__fee": "99.00",
    "retry__discount_pct": "20",
    "retry__discount_days": "7",
    "reset__fee": "49",
}
FIXED_KEPT = {
    "payouts": {
        "timing": "fixed_days",
        "first_after_days": 30,
        "fixed_days": [1, 15],
        "min_payout": "1000.00",
        "min_trading_days": 5,
        "consistency_pct": "40",
        "no_open_positions": True,
    },
    "retry": {"fee": "99.00", "discount_pct": "20", "discount_days": 7},
    "reset": {"fee": "49.00"},
}


def page(admin: Any, challenge: Challenge) -> str:
    html = logged_in(admin).get(f"{LIST}{challenge.pk}/").content.decode()
    return html.replace("&#x27;", "'")


def errors_of(html: str, name: str) -> str:
    return html.partition(f'id="{name}-errors">')[2].partition("</ul>")[0]


def row(html: str, path: str) -> list[str]:
    found = re.search(rf'<tr data-path="{re.escape(path)}">(.*?)</tr>', html, re.S)
    assert found is not None, f"no row {path}"
    cells = re.findall(r"<td>(.*?)</td>", found[1], re.S)
    return [cell.replace("&#x27;", "'") for cell in cells]


def offer(html: str, key: str) -> str:
    found = re.search(rf'<dd data-offer="{key}">(.*?)</dd>', html, re.S)
    assert found is not None, f"no {key}"
    return found[1].replace("&#x27;", "'")


def demo_only() -> list[dict[str, Any]]:
    return copy.deepcopy(TWO_STEP_ROWS[:2])


# --- the form ------------------------------------------------------------------------------------


def test_the_form_takes_a_schedule_a_retry_and_a_reset_as_the_api_does(admin):
    response = post_form(logged_in(admin), NEW, challenge_form(**FIXED))
    assert response.status_code == 302, response.content.decode()[:3000]
    by_form = Challenge.objects.get().draft().definition
    by_api = catalogue.clean_definition({**copy.deepcopy(TWO_STEP), **FIXED_KEPT}).to_json()
    assert by_form == {**by_api, "tags": ["2-step", "100K"]}
    assert by_form["payouts"]["every_days"] is None


def test_an_empty_retry_and_reset_are_none_and_the_schedule_shown_is_kept(admin):
    post_form(logged_in(admin), NEW, challenge_form(payouts__min_payout="50"))
    kept = Challenge.objects.get().draft().definition
    assert kept["payouts"] == {
        "timing": "on_request",
        "first_after_days": 14,
        "every_days": 14,
        "min_payout": "50.00",
    }
    assert "retry" not in kept
    assert "reset" not in kept


def test_the_new_challenge_form_shows_the_default_schedule_and_empty_offers(admin):
    html = logged_in(admin).get(NEW).content.decode()
    assert 'id="payouts-hint"' in html
    assert re.search(r'name="payouts-timing" value="on_request"[^>]*checked', html)
    assert 'name="payouts-first_after_days" value="14"' in html
    assert 'name="payouts-every_days" value="14"' in html
    assert 'name="retry-fee" value=' not in html
    assert 'name="reset-fee" value=' not in html


def test_the_edit_form_shows_the_kept_offers(admin):
    post_form(logged_in(admin), NEW, challenge_form(**FIXED))
    challenge = Challenge.objects.get()
    html = logged_in(admin).get(f"{LIST}{challenge.pk}/edit/").content.decode()
    assert re.search(r'name="payouts-timing" value="fixed_days"[^>]*checked', html)
    assert 'name="payouts-first_after_days" value="30"' in html
    assert 'name="payouts-fixed_days" value="1, 15"' in html
    assert 'name="payouts-min_payout" value="1000.00"' in html
    assert 'name="payouts-min_trading_days" value="5"' in html
    assert 'name="payouts-consistency_pct" value="40"' in html
    assert re.search(r'name="payouts-no_open_positions"[^>]*checked', html)
    assert 'name="retry-fee" value="99.00"' in html
    assert 'name="retry-discount_days" value="7"' in html
    assert 'name="reset-fee" value="49.00"' in html


def test_saving_the_edit_form_as_shown_keeps_the_offers_as_they_were(admin):
    made = definition(**copy.deepcopy(FIXED_KEPT))
    challenge = catalogue.create(made, actor=admin)
    before = challenge.draft().definition
    shown = challenge_form(
        **{
            **FIXED,
            "payouts__min_payout": "1000.00",
            "payouts__every_days": "",
            "name": "2-Step 100K",
            "tags": "2-step",
        }
    )
    response = post_form(logged_in(admin), f"{LIST}{challenge.pk}/edit/", shown)
    assert response.status_code == 302, response.content.decode()[:3000]
    after = Challenge.objects.get().draft().definition
    assert {k: after[k] for k in FIXED_KEPT} == {k: before[k] for k in FIXED_KEPT}


@pytest.mark.parametrize(
    ("fields", "name", "said"),
    [
        ({"payouts__first_after_days": "366"}, "payouts-first_after_days", "from 0 to 365"),
        ({"payouts__first_after_days": "-1"}, "payouts-first_after_days", "whole number"),
        ({"payouts__every_days": "0"}, "payouts-every_days", "from 1 to 365"),
        ({"payouts__every_days": "9" * 40}, "payouts-every_days", "from 1 to 365"),
        (
            {"payouts__timing": "fixed_days", "payouts__fixed_days": "1, 29"},
            "payouts-fixed_days",
            "from 1 to 28",
        ),
        (
            {"payouts__timing": "fixed_days", "payouts__fixed_days": ""},
            "payouts-fixed_days",
            "One or more days",
        ),
        (
            {"payouts__timing": "fixed_days", "payouts__fixed_days": "first, 15th"},
            "payouts-fixed_days",
            "from 1 to 28",
        ),
        ({"payouts__timing": "weekly"}, "payouts-timing", "valid choice"),
        ({"payouts__min_payout": "-5"}, "payouts-min_payout", "cannot be negative"),
        ({"payouts__min_payout": "abc"}, "payouts-min_payout", "must be a number"),
        ({"payouts__min_payout": "1" + "0" * 20}, "payouts-min_payout", "too large"),
        ({"payouts__min_trading_days": "366"}, "payouts-min_trading_days", "from 0 to 365"),
        ({"payouts__consistency_pct": "100.01"}, "payouts-consistency_pct", "at most 100"),
        ({"payouts__consistency_pct": "0"}, "payouts-consistency_pct", "More than 0"),
        ({"retry__fee": "-1"}, "retry-fee", "more than zero"),
        ({"retry__fee": "99.999"}, "retry-fee", "decimal places"),
        ({"retry__fee": "2000000"}, "retry-fee", "at most 1000000"),
        ({"retry__fee": "99", "retry__discount_pct": "20"}, "retry-discount_days", "both"),
        ({"retry__fee": "99", "retry__discount_days": "7"}, "retry-discount_pct", "both"),
        (
            {"retry__fee": "99", "retry__discount_pct": "100", "retry__discount_days": "7"},
            "retry-discount_pct",
            "less than 100",
        ),
        ({"retry__discount_pct": "20", "retry__discount_days": "7"}, "retry-fee", "required"),
        ({"retry__fee": "99", "retry__discount_days": "0"}, "retry-discount_days", "from 1"),
        ({"reset__fee": "0"}, "reset-fee", "more than zero"),
        ({"reset__fee": "4,9"}, "reset-fee", "must be a number"),
    ],
)
def test_a_wrong_offer_lands_on_its_field_and_nothing_is_saved(admin, fields, name, said):
    response = post_form(logged_in(admin), NEW, challenge_form(**fields))
    assert response.status_code == 422
    html = response.content.decode().replace("&lt;", "<").replace("&gt;", ">")
    errors = errors_of(html, name)
    assert said in errors, errors or html[html.find("form-faults") :][:1500]
    section = name.partition("-")[0].capitalize()
    assert re.search(rf"<li>{section}, [^<]*: [^<]*{re.escape(said)}", html), "listed at the top"
    assert "Nothing was saved" in html
    assert not Challenge.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="challenges.").exists()


def test_what_was_typed_in_a_section_stays_after_a_fault(admin):
    response = post_form(logged_in(admin), NEW, challenge_form(**{**FIXED, "reset__fee": "-4"}))
    html = response.content.decode()
    assert response.status_code == 422
    assert 'name="payouts-fixed_days" value="15, 1"' in html
    assert 'name="retry-fee" value="99.00"' in html
    assert 'name="reset-fee" value="-4"' in html


def test_a_fault_in_a_stage_and_one_in_an_offer_are_both_shown(admin):
    rows = copy.deepcopy(TWO_STEP_ROWS)
    rows[0]["max_loss_pct"] = "150"
    response = post_form(logged_in(admin), NEW, challenge_form(rows, retry__fee="-1"))
    html = response.content.decode()
    assert response.status_code == 422
    assert errors_of(html, "stage-0-max_loss_pct")
    assert "more than zero" in errors_of(html, "retry-fee")
    assert "definition has faults" not in html  # every fault is on its field
    assert not Challenge.objects.exists()


def test_a_schedule_changed_without_a_live_stage_is_refused_on_the_section(admin):
    response = post_form(
        logged_in(admin), NEW, challenge_form(demo_only(), payouts__min_payout="50")
    )
    assert response.status_code == 422
    html = response.content.decode()
    section = html.partition('id="payouts-section-errors">')[2].partition("</div>")[0]
    assert "Only a challenge with a live stage pays out." in section
    assert "<li>Payouts: Only a challenge with a live stage pays out.</li>" in html
    assert not Challenge.objects.exists()


def test_a_schedule_left_as_shown_without_a_live_stage_is_none(admin):
    http = logged_in(admin)
    assert post_form(http, NEW, challenge_form(demo_only())).status_code == 302
    kept = Challenge.objects.get().draft().definition
    assert "payouts" not in kept
    # A browser that posts nothing of the section (an empty field is no change either).
    bare = {k: v for k, v in challenge_form(demo_only()).items() if not k.startswith("payouts-")}
    assert post_form(http, NEW, {**bare, "name": "Demo only"}).status_code == 302
    assert "payouts" not in Challenge.objects.get(name="Demo only").draft().definition


def test_a_retry_and_a_reset_need_no_live_stage(admin):
    response = post_form(
        logged_in(admin), NEW, challenge_form(demo_only(), retry__fee="99", reset__fee="49")
    )
    assert response.status_code == 302
    kept = Challenge.objects.get().draft().definition
    assert kept["retry"] == {"fee": "99.00"}
    assert kept["reset"] == {"fee": "49.00"}


# --- in words ------------------------------------------------------------------------------------


def test_the_challenge_page_says_each_offer_in_words(admin):
    challenge = catalogue.create(definition(**copy.deepcopy(FIXED_KEPT)), actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    html = page(admin, challenge)
    assert offer(html, "payouts") == (
        "Payouts on the 1st and 15th of the month, the first at least 30 days after the live "
        "start; minimum 1,000.00 USD; conditions: at least 5 trading days in the period, no day "
        "above 40% of the period's profit, no open positions"
    )
    assert offer(html, "retry") == "Retry: 99.00 USD, 20% off within 7 days of the failure"
    assert offer(html, "reset") == "Reset: 49.00 USD"


def test_an_absent_offer_says_what_it_means(admin, challenge):
    html = page(admin, challenge)
    assert offer(html, "payouts") == (
        "First payout 14 days after the live start, then every 14 days; no minimum "
        "(the default schedule)"
    )
    assert offer(html, "retry") == "No paid retry"
    assert offer(html, "reset") == "No paid reset"
    demo = definition(name="Demo only")
    demo["stages"] = demo["stages"][:2]
    made = catalogue.create(demo, actor=admin)
    assert offer(page(admin, made), "payouts") == "No payouts: the challenge has no live stage"


def test_the_comparison_says_the_offers_before_and_after(admin, challenge):
    changed = {**copy.deepcopy(challenge.published().definition), **copy.deepcopy(FIXED_KEPT)}
    catalogue.save_draft(challenge.pk, changed, actor=admin)
    html = page(admin, challenge)
    label, before, after = row(html, "payouts")
    assert label == "Payouts"
    assert before == payout_schedule_text(DEFAULT_SCHEDULE, "USD") + " (the default schedule)"
    assert after.startswith("Payouts on the 1st and 15th of the month")
    assert row(html, "retry")[1:] == [
        "No paid retry",
        "Retry: 99.00 USD, 20% off within 7 days of the failure",
    ]
    assert row(html, "reset")[1:] == ["No paid reset", "Reset: 49.00 USD"]
    catalogue.publish(challenge.pk, actor=admin)
    again = copy.deepcopy(changed)
    again["payouts"].update(
        {"timing": "on_request", "every_days": 7, "min_payout": "0", "consistency_pct": None}
    )
    del again["payouts"]["no_open_positions"]
    del again["payouts"]["fixed_days"]
    again["retry"] = {"fee": "120.00"}
    del again["reset"]
    catalogue.save_draft(challenge.pk, again, actor=admin)
    html = page(admin, challenge)
    assert row(html, "payouts.timing")[1:] == [
        "On fixed days of the month",
        "On request: after N days from the live start, then every M days",
    ]
    assert row(html, "payouts.every_days")[1:] == ["— (paid on fixed days)", "7"]
    assert row(html, "payouts.fixed_days")[1:] == ["1, 15", "— (paid on request)"]
    assert row(html, "payouts.min_payout")[1:] == ["1,000.00 USD", "no minimum"]
    consistency = row(html, "payouts.consistency_pct")
    assert consistency[0] == "Payouts \u203a consistency %"
    assert consistency[1:] == ["40", "no consistency condition"]
    assert row(html, "retry.fee")[1:] == ["99.00 USD", "120.00 USD"]
    assert row(html, "payouts.no_open_positions")[1:] == [
        "nothing may be open when the trader asks",
        "positions may be open",
    ]
    assert row(html, "retry.discount_pct")[1:] == ["20", "no discount"]
    assert row(html, "reset")[1:] == ["Reset: 49.00 USD", "No paid reset"]


def test_a_first_publication_compares_the_offers_with_nothing(admin):
    challenge = catalogue.create(definition(retry={"fee": "99"}), actor=admin)
    html = page(admin, challenge)
    assert row(html, "retry")[1:] == ["—", "Retry: 99.00 USD"]


# --- the client's catalogue page -----------------------------------------------------------------


def test_the_client_sees_the_payout_terms_and_the_offers_before_buying(admin, active_client):
    made = definition(**copy.deepcopy(FIXED_KEPT))
    challenge = catalogue.create(made, actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    html = logged_in(active_client.user).get(f"/portal/challenges/{challenge.pk}/")
    text = html.content.decode().replace("&#x27;", "'")
    payouts = re.search(r'<dd id="payouts">(.*?)</dd>', text, re.S)
    assert payouts is not None
    assert payouts[1].startswith("You keep 80% of the profit. Payouts on the 1st and 15th")
    assert "minimum 1,000.00 USD" in payouts[1]
    assert "99.00 USD, 20% off within 7 days of the failure" in text
    assert "at its starting balance: 49.00 USD" in text


def test_the_client_sees_the_default_schedule_and_no_absent_offer(active_client, challenge):
    html = logged_in(active_client.user).get(f"/portal/challenges/{challenge.pk}/")
    text = html.content.decode()
    assert (
        "You keep 80% of the profit. First payout 14 days after the live start, then every 14 "
        "days; no minimum." in text
    )
    assert 'id="retry"' not in text
    assert 'id="reset"' not in text


# --- presets -------------------------------------------------------------------------------------


def test_every_preset_pays_its_live_stage_on_a_schedule_and_one_offers_retry_and_reset():
    for key in PRESETS:
        spec = preset_spec(key)
        assert any(stage.is_live for stage in spec.stages)
        assert spec.payouts is not None, key
    futures = preset_spec("futures").payouts
    assert futures is not None
    assert futures.fixed_days == (1, 15)
    two = preset_spec("two_step")
    assert two.payouts is not None
    assert payout_schedule_text(two.payouts, "USD") == (
        "First payout 14 days after the live start, then every 14 days; minimum 50.00 USD"
    )
    assert two.retry is not None
    assert two.reset is not None
    others = [preset_spec(key) for key in PRESETS if key != "two_step"]
    assert all(spec.retry is None and spec.reset is None for spec in others)


def test_a_preset_fills_the_offer_sections(admin):
    html = logged_in(admin).get(f"{NEW}?preset=futures").content.decode()
    assert re.search(r'name="payouts-timing" value="fixed_days"[^>]*checked', html)
    assert 'name="payouts-fixed_days" value="1, 15"' in html
    two = logged_in(admin).get(f"{NEW}?preset=two_step").content.decode()
    assert 'name="retry-fee" value="449.00"' in two
    assert 'name="reset-fee" value="299.00"' in two
