"""The challenge's Alerts section in Prop Trading > Challenge Settings: managers save them (a
wrong value is shown on its field and nothing changes), viewers only see them, and a post
needs the permission and the CSRF token."""

from __future__ import annotations

import copy

import pytest

from propdesk.challenges.catalogue import alert_settings
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Challenge
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from tests.challenges.factories import TWO_STEP
from tests.challenges.form_data import LIST
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db

OFF = dict.fromkeys(alert_settings.FIELDS)
EMPTY = dict.fromkeys(alert_settings.FIELDS, "")  # the form as sent with every field empty


@pytest.fixture
def challenge(admin) -> Challenge:
    made = catalogue.create(copy.deepcopy(TWO_STEP), actor=admin)
    catalogue.publish(made.pk, actor=admin)
    return made


def alerts_path(challenge: Challenge) -> str:
    return f"{LIST}{challenge.pk}/alerts/"


def test_a_manager_switches_alerts_on_from_the_challenge_page(admin, challenge):
    http = logged_in(admin)
    assert 'id="alerts-form"' in http.get(f"{LIST}{challenge.pk}/").content.decode()
    response = post_form(
        http,
        alerts_path(challenge),
        {**EMPTY, "daily_loss_percent": "80", "inactivity_days": "7"},
    )
    assert response.status_code == 302
    assert alert_settings.current(challenge) == {
        **OFF,
        "daily_loss_percent": 80,
        "inactivity_days": 7,
    }
    page = http.get(f"{LIST}{challenge.pk}/").content.decode()
    assert 'name="daily_loss_percent" min="1" max="100" value="80"' in page
    record = AuditRecord.objects.get(action=AuditAction.CHALLENGE_ALERTS.value)
    assert record.actor == admin


def test_a_wrong_value_is_shown_on_its_field_and_nothing_changes(admin, challenge):
    response = post_form(
        logged_in(admin),
        alerts_path(challenge),
        {
            **EMPTY,
            "daily_loss_percent": "101",
            "max_loss_percent": "80",
            "period_end_days": "x" * 5000,
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert '<ul class="errorlist" id="daily_loss_percent-errors"><li>Must be from 1 to 100' in html
    assert '<ul class="errorlist" id="period_end_days-errors"><li>Enter a number of days' in html
    assert "daily_loss_percent:" not in html  # no field's code name on the page
    assert 'value="101"' in html  # what was typed, to correct
    assert alert_settings.current(challenge) == OFF


def test_viewers_see_the_alerts_without_the_form_and_their_post_is_refused(
    support, admin, challenge
):
    alert_settings.set_alerts(challenge.pk, {"max_loss_percent": "90"}, actor=admin)
    http = logged_in(support)
    html = http.get(f"{LIST}{challenge.pk}/").content.decode()
    assert 'id="alerts-form"' not in html
    assert "Maximum loss: 90% of the limit" in html
    assert (
        post_form(http, alerts_path(challenge), {**EMPTY, "max_loss_percent": "10"}).status_code
        == 403
    )
    assert alert_settings.current(challenge)["max_loss_percent"] == 90


def test_a_post_without_the_csrf_token_is_refused(admin, challenge):
    response = logged_in(admin).post(alerts_path(challenge), {**EMPTY, "daily_loss_percent": "50"})
    assert response.status_code == 403
    assert alert_settings.current(challenge) == OFF


def test_a_post_missing_a_field_or_sending_one_twice_changes_nothing(admin, challenge):
    """A post the form never sends (a field left out, or sent twice) is refused: it switches
    nothing off by accident."""
    alert_settings.set_alerts(
        challenge.pk, {"daily_loss_percent": "80", "max_loss_percent": "90"}, actor=admin
    )
    before = alert_settings.current(challenge)
    http = logged_in(admin)
    missing = post_form(http, alerts_path(challenge), {"daily_loss_percent": "70"})
    assert missing.status_code == 422
    assert 'id="max_loss_percent-errors"><li>Send this field once' in missing.content.decode()
    twice = post_form(
        http,
        alerts_path(challenge),
        {
            "daily_loss_percent": ["70", "10"],
            "max_loss_percent": "90",
            "period_end_days": "",
            "inactivity_days": "",
        },
    )
    assert twice.status_code == 422
    assert alert_settings.current(challenge) == before
    assert AuditRecord.objects.filter(action=AuditAction.CHALLENGE_ALERTS.value).count() == 1


def test_the_use_case_itself_refuses_a_role_without_the_manage_permission(support, challenge):
    from propdesk.core.errors import Forbidden

    with pytest.raises(Forbidden):
        alert_settings.set_alerts(challenge.pk, {"max_loss_percent": "90"}, actor=support)
    assert alert_settings.current(challenge)["max_loss_percent"] is None
