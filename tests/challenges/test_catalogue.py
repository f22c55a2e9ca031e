"""The challenge catalogue: definitions checked to the field, drafts, publication with a
comparison, versions that never change under a participant, duplicate and end; the API."""

from __future__ import annotations

import pytest

from propdesk.accounts.models import ClientGroup
from propdesk.challenges.catalogue import offering
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Challenge, ChallengeVersion
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, Forbidden, ValidationFailed
from propdesk.core.models import AuditRecord
from tests.api.conftest import Api
from tests.challenges.factories import definition
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_definition_is_kept_in_canonical_form_with_the_stage_filling_the_rules(admin):
    challenge = catalogue.create(definition(), actor=admin)
    draft = challenge.draft()
    assert challenge.status == "draft"
    first = draft.definition["stages"][0]
    assert first["rules"]["initial_balance"] == "100000.00"
    assert first["rules"]["timezone"] == "Europe/Prague"
    assert first["rules"]["max_daily_loss"]["action"] == "fail"  # the spec's default, spelled out
    assert first["group"] == "demo"
    assert draft.definition["stages"][2]["group"] == "live"
    assert draft.definition["platform"] == "Sandbox"
    assert AuditRecord.objects.filter(action=AuditAction.CHALLENGE_CREATE).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"currency": "XXX"}, "currency"),
        ({"fee": "-1"}, "fee"),
        ({"fee": "10.001"}, "fee"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"payment_ways": []}, "payment_ways"),
        ({"payment_ways": ["crypto"]}, "payment_ways"),
        ({"progression": "sometimes"}, "progression"),
        ({"platform": "MT5 nowhere"}, "platform"),
        ({"stages": []}, "stages"),
        ({"tags": ["x" * 31]}, "tags"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_a_bad_definition_names_the_field_and_keeps_nothing(admin, changes, field):
    with pytest.raises(ValidationFailed) as refused:
        catalogue.create(definition(**changes), actor=admin)
    assert field in refused.value.fields
    assert not Challenge.objects.exists()


@pytest.mark.parametrize(
    ("stage", "changes", "field"),
    [
        (0, {"kind": "paper"}, "stages.0.kind"),
        (0, {"balance": "0"}, "stages.0.balance"),
        (0, {"leverage": 0}, "stages.0.leverage"),
        (0, {"leverage": "100"}, "stages.0.leverage"),
        (0, {"group": "vip"}, "stages.0.group"),
        (0, {"profit_share_pct": "80"}, "stages.0.profit_share_pct"),
        (2, {"profit_share_pct": "0"}, "stages.2.profit_share_pct"),
        (2, {"profit_share_pct": "101"}, "stages.2.profit_share_pct"),
        (0, {"rules": {"max_loss": {"pct": "150", "mode": "static"}}}, "stages.0.rules"),
        (0, {"rules": {"profit_target": "8"}}, "stages.0.rules"),
        (0, {"rules": {"initial_balance": "50000"}}, "stages.0.rules"),
        (0, {"rules": "strict"}, "stages.0.rules"),
        (2, {"kind": "demo"}, "stages.2.profit_share_pct"),
    ],
)
def test_a_bad_stage_names_its_path(admin, stage, changes, field):
    made = definition()
    made["stages"][stage].update(changes)
    with pytest.raises(ValidationFailed) as refused:
        catalogue.create(made, actor=admin)
    assert field in refused.value.fields, refused.value.fields


def test_demo_stages_come_before_live_ones(admin):
    made = definition()
    made["stages"] = [made["stages"][2], made["stages"][0]]
    with pytest.raises(ValidationFailed) as refused:
        catalogue.create(made, actor=admin)
    assert "stages.1.kind" in refused.value.fields


def test_publishing_makes_it_visible_and_an_edit_is_a_new_draft_until_published(admin):
    challenge = catalogue.create(definition(), actor=admin)
    assert offering.published_catalogue() == []
    first, changes = catalogue.publish(challenge.pk, actor=admin)
    assert first.number == 1
    assert any(c.path == "fee" and c.after == "499.00" for c in changes)
    assert [v.challenge_id for v in offering.published_catalogue()] == [challenge.pk]

    cheaper = definition(fee="399.00")
    cheaper["stages"][0]["rules"]["profit_target_pct"] = "10"
    draft = catalogue.save_draft(challenge.pk, cheaper, actor=admin)
    assert draft.number == 2
    first.refresh_from_db()
    assert first.state == "published"
    assert first.definition["fee"] == "499.00"  # the published version is untouched
    paths = {c.path: (c.before, c.after) for c in catalogue.pending_changes(challenge)}
    assert paths["fee"] == ("499.00", "399.00")
    assert paths["stages.0.rules.profit_target_pct"] == ("8", "10")

    second, _ = catalogue.publish(challenge.pk, actor=admin)
    first.refresh_from_db()
    assert first.state == "superseded"
    assert first.definition["stages"][0]["rules"]["profit_target_pct"] == "8"
    assert second.state == "published"
    assert ChallengeVersion.objects.filter(challenge=challenge).count() == 2


def test_publishing_without_a_draft_is_refused(admin):
    challenge = catalogue.create(definition(), actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    with pytest.raises(Conflict):
        catalogue.publish(challenge.pk, actor=admin)


def test_duplicate_makes_a_draft_copy_and_end_stops_new_participants(admin):
    challenge = catalogue.create(definition(), actor=admin)
    catalogue.publish(challenge.pk, actor=admin)
    copy_ = catalogue.duplicate(challenge.pk, actor=admin)
    assert copy_.status == "draft"
    assert copy_.name == "Copy of 2-Step 100K"
    catalogue.end(challenge.pk, actor=admin)
    assert offering.published_catalogue() == []
    challenge.refresh_from_db()
    assert challenge.published().number == 1  # kept for those who run it
    with pytest.raises(Conflict):
        catalogue.save_draft(challenge.pk, definition(), actor=admin)


def test_tags_filter_the_catalogue_and_groups_hide_a_challenge_from_others(admin):
    ClientGroup.objects.create(name="VIP")
    one = catalogue.create(definition(name="Instant", tags=["1-step"]), actor=admin)
    two = catalogue.create(definition(), actor=admin)
    vip = catalogue.create(definition(name="VIP", client_groups=["vip"]), actor=admin)
    for challenge in (one, two, vip):
        catalogue.publish(challenge.pk, actor=admin)
    assert [v.challenge_id for v in offering.published_catalogue(tag="1-STEP")] == [one.pk]
    assert vip.pk not in [v.challenge_id for v in offering.published_catalogue()]
    assert vip.pk in [v.challenge_id for v in offering.published_catalogue(groups=["vip"])]


def test_only_managers_define_challenges(support):
    with pytest.raises(Forbidden):
        catalogue.create(definition(), actor=support)


# --- the API ---------------------------------------------------------------------------------


def test_a_firm_scripts_its_catalogue_over_the_api(admin, active_client):
    api = Api()
    token = api.token(admin.email, PASSWORD)
    made = api.call("POST", "/challenges", definition(), token=token)
    assert made.status_code == 201, made.content
    challenge_id = made.json()["id"]
    assert made.json()["status"] == "draft"
    published = api.call("POST", f"/challenges/{challenge_id}/publish", token=token)
    assert published.status_code == 200
    assert published.json()["challenge"]["version"] == 1
    client_token = api.token(active_client.user.email, PASSWORD)
    seen = api.call("GET", "/challenges", token=client_token).json()
    assert [c["id"] for c in seen] == [challenge_id]
    assert seen[0]["draft"] is None
    assert api.call("POST", "/challenges", definition(), token=client_token).status_code == 403


def test_a_bad_definition_over_the_api_is_422_with_paths(admin):
    api = Api()
    token = api.token(admin.email, PASSWORD)
    made = definition()
    made["stages"][1]["leverage"] = 5000
    response = api.call("POST", "/challenges", made, token=token)
    assert response.status_code == 422
    assert "stages.1.leverage" in response.json()["fields"]
    assert api.call("POST", "/challenges", "[1, 2]", token=token).status_code in (400, 422)
    assert not Challenge.objects.exists()


def test_clients_do_not_see_drafts(admin, active_client):
    draft = catalogue.create(definition(), actor=admin)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    assert api.call("GET", f"/challenges/{draft.pk}", token=token).status_code == 404
    assert api.call("GET", "/challenges/abc", token=token).status_code == 404


def test_an_ended_draft_keeps_its_definition_and_can_be_duplicated(admin):
    draft = catalogue.create(definition(), actor=admin)
    catalogue.end(draft.pk, actor=admin)
    draft.refresh_from_db()
    assert draft.status == "ended"
    assert draft.versions.count() == 1
    assert catalogue.duplicate(draft.pk, actor=admin).name == "Copy of 2-Step 100K"


def test_publishing_refuses_a_draft_changed_since_it_was_reviewed(admin):
    challenge = catalogue.create(definition(), actor=admin)
    seen = catalogue.draft_digest(challenge.draft())
    catalogue.save_draft(challenge.pk, definition(fee="450.00"), actor=admin)
    with pytest.raises(Conflict):
        catalogue.publish(challenge.pk, actor=admin, expected=seen)
    fresh = catalogue.draft_digest(challenge.draft())
    version, _ = catalogue.publish(challenge.pk, actor=admin, expected=fresh)
    assert version.definition["fee"] == "450.00"


def test_a_tiny_decimal_is_answered_and_kept_fixed_point_never_with_an_exponent(admin):
    api = Api()
    token = api.token(admin.email, PASSWORD)
    tiny = definition()
    tiny["stages"][0]["rules"]["profit_target_pct"] = "0.0000001"
    made = api.call("POST", "/challenges", tiny, token=token)
    assert made.status_code == 201, made.content
    answered = made.json()["definition"]["stages"][0]["rules"]["profit_target_pct"]
    assert answered == "0.0000001"  # str(Decimal) would write "1E-7"
    kept = Challenge.objects.get(pk=made.json()["id"]).draft().definition
    assert kept["stages"][0]["rules"]["profit_target_pct"] == "0.0000001"
