"""Prop Trading > Challenge Settings in the back office: the list, a challenge's page with the
comparison of its draft against the published version, the form with its stage rows, and
publish, duplicate and end, all through the catalogue's use cases."""

from __future__ import annotations

import copy
import re

import pytest
from django.test import Client as HttpClient

from propdesk.accounts.models import ClientGroup
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.models import Challenge, ChallengeVersion
from propdesk.core.audit import AuditAction
from propdesk.core.models import AuditRecord
from tests.challenges.factories import TWO_STEP
from tests.challenges.form_data import (
    LIST,
    NEW,
    SHOWN_SCHEDULE,
    TWO_STEP_ROWS,
    challenge_form,
    with_row,
)
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db


def page_of(challenge: Challenge) -> str:
    return f"{LIST}{challenge.pk}/"


def fresh(challenge: Challenge) -> Challenge:
    return Challenge.objects.get(pk=challenge.pk)


@pytest.fixture
def drafted(admin) -> Challenge:
    return catalogue.create(copy.deepcopy(TWO_STEP), actor=admin)


@pytest.fixture
def published(admin, drafted) -> Challenge:
    catalogue.publish(drafted.pk, actor=admin)
    return fresh(drafted)


def digest_on(html: str) -> str:
    found = re.search(r'name="digest" value="([0-9a-f]*)"', html)
    assert found, "the page has no Publish form"
    return found[1]


# --- who may see and do what ---------------------------------------------------------------------


def test_an_administrator_sees_the_list_the_challenge_page_and_the_forms(admin, published):
    http = logged_in(admin)
    listing = http.get(LIST)
    assert listing.status_code == 200
    row = listing.content.decode()
    assert "2-Step 100K" in row
    assert "Demo 100,000 → Demo 100,000 → Live 100,000" in row
    assert "499.00 USD" in row
    assert "New challenge" in row
    shown = http.get(page_of(published))
    assert shown.status_code == 200
    assert "Profit target 8%" in shown.content.decode()
    assert http.get(NEW).status_code == 200
    assert http.get(f"{page_of(published)}edit/").status_code == 200
    assert http.get(f"{page_of(published)}end/").status_code == 200


@pytest.mark.parametrize("role", ["Administrator", "Support", "Finance", "Compliance"])
def test_roles_with_challenges_view_have_the_menu_entry(staff_factory, role):
    menu = logged_in(staff_factory(role)).get(LIST).content.decode()
    assert "Prop Trading" in menu
    assert "Challenge Settings" in menu


def test_anonymous_visitors_go_to_login_and_clients_are_kept_out(active_client, drafted):
    assert HttpClient().get(LIST)["Location"].startswith("/login/?next=")
    http = logged_in(active_client.user)
    assert http.get(LIST).status_code == 403
    assert http.get(page_of(drafted)).status_code == 403


def test_support_sees_the_pages_without_buttons_and_every_post_is_refused(support, admin, drafted):
    catalogue.publish(drafted.pk, actor=admin)
    catalogue.save_draft(drafted.pk, {**TWO_STEP, "fee": "599.00"}, actor=admin)
    digest = digest_on(logged_in(admin).get(page_of(drafted)).content.decode())
    http = logged_in(support)
    listing = http.get(LIST).content.decode()
    shown = http.get(page_of(drafted))
    assert shown.status_code == 200
    assert "2-Step 100K" in listing
    assert "New challenge" not in listing
    html = shown.content.decode()
    assert 'id="changes"' in html  # the comparison is for everyone who sees the catalogue
    assert "Publish v2" not in html
    assert "Duplicate" not in html
    for path in (NEW, f"{page_of(drafted)}edit/", f"{page_of(drafted)}end/"):
        assert http.get(path).status_code == 403
    audited = AuditRecord.objects.count()
    for path, data in [
        (NEW, challenge_form(name="Support's own")),
        (f"{page_of(drafted)}edit/", challenge_form(fee="1.00")),
        (f"{page_of(drafted)}publish/", {"digest": digest}),
        (f"{page_of(drafted)}duplicate/", {}),
        (f"{page_of(drafted)}end/", {}),
    ]:
        assert post_form(http, path, data).status_code == 403, path
    assert Challenge.objects.count() == 1
    challenge = fresh(drafted)
    assert challenge.status == "published"
    assert challenge.published().number == 1
    assert challenge.draft().definition["fee"] == "599.00"
    assert AuditRecord.objects.count() == audited


def test_a_post_without_the_csrf_token_is_refused(admin, drafted):
    response = logged_in(admin).post(f"{page_of(drafted)}end/")
    assert response.status_code == 403
    assert fresh(drafted).status == "draft"


# --- new and edit ------------------------------------------------------------------------------


def test_an_administrator_creates_a_challenge_through_the_form(admin):
    for name in ("VIP", "Gold"):
        ClientGroup.objects.create(name=name)
    http = logged_in(admin)
    response = post_form(http, NEW, challenge_form(client_groups=["VIP", "Gold"]))
    challenge = Challenge.objects.get()
    assert response.status_code == 302
    assert response["Location"] == page_of(challenge)
    assert challenge.status == "draft"
    definition = challenge.draft().definition
    assert definition["tags"] == ["2-step", "100K"]
    assert definition["client_groups"] == ["VIP", "Gold"]  # as the groups are named
    assert definition["payment_ways"] == ["wallet", "direct"]
    assert [s["name"] for s in definition["stages"]] == ["Challenge", "Verification", "Funded"]
    first, _, funded = definition["stages"]
    assert first["rules"]["max_daily_loss"] == {
        "pct": "5",
        "basis": "prev_day_balance",
        "of": "initial",
        "action": "fail",
    }
    assert first["rules"]["min_trading_days"] == 4
    assert first["group"] == "demo"
    assert funded["profit_share_pct"] == "80"
    assert funded["leverage"] == 50
    assert funded["rules"]["max_loss"]["mode"] == "trailing_eod"
    assert AuditRecord.objects.get(action=AuditAction.CHALLENGE_CREATE).actor == admin
    assert "drafted (v1)" in http.get(response["Location"]).content.decode()


def test_the_form_builds_the_same_definition_as_the_api_takes(admin):
    post_form(logged_in(admin), NEW, challenge_form())
    with_schedule = {**copy.deepcopy(TWO_STEP), "payouts": SHOWN_SCHEDULE}
    by_api = catalogue.clean_definition(with_schedule).to_json()
    by_form = Challenge.objects.get().draft().definition
    assert by_form == {**by_api, "tags": ["2-step", "100K"]}


def test_the_edit_form_is_filled_from_the_published_version(admin, published):
    html = logged_in(admin).get(f"{page_of(published)}edit/").content.decode()
    assert 'name="name" value="2-Step 100K"' in html
    assert 'name="stage-2-profit_share_pct" value="80"' in html
    assert 'name="stage-0-daily_loss_pct" value="5"' in html
    assert '<option value="trailing_eod" selected>' in html
    assert "Saving makes a draft from published v1" in html


def test_the_edit_form_is_filled_from_the_draft_when_there_is_one(admin, published):
    catalogue.save_draft(published.pk, {**TWO_STEP, "fee": "599.00"}, actor=admin)
    html = logged_in(admin).get(f"{page_of(published)}edit/").content.decode()
    assert 'name="fee" value="599.00"' in html
    assert "Editing draft v2" in html


def test_editing_a_published_challenge_makes_a_draft_and_the_page_compares_it(admin, published):
    http = logged_in(admin)
    response = post_form(
        http,
        f"{page_of(published)}edit/",
        challenge_form(with_row(0, max_loss_pct="8"), fee="599.00"),
    )
    assert response.status_code == 302
    challenge = fresh(published)
    assert challenge.published().number == 1
    assert challenge.published().definition["fee"] == "499.00"
    assert challenge.draft().number == 2
    html = http.get(page_of(challenge)).content.decode()
    fee = re.search(r'<tr data-path="fee">(.*?)</tr>', html, re.S)
    assert fee is not None
    assert "499.00" in fee[1]
    assert "599.00" in fee[1]
    max_loss = re.search(r'<tr data-path="stages.0.rules.max_loss.pct">(.*?)</tr>', html, re.S)
    assert max_loss is not None
    label = " \u203a ".join(["Stage 1 (Challenge)", "Rules", "Max loss", "%"])
    assert label in max_loss[1]
    assert "Publish v2" in html
    assert "v2 pending" in http.get(LIST).content.decode()


def test_a_bad_form_shows_every_fault_and_creates_nothing(admin):
    response = post_form(
        logged_in(admin), NEW, challenge_form(with_row(0, max_loss_pct="150"), fee="-1")
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="form-faults"' in html
    assert re.search(r'id="fee-errors"><li>Fee must be more than zero', html)
    assert "Fee: Fee must be more than zero." in html
    assert re.search(
        r'id="stage-0-max_loss_pct-errors"><li>Must be a percentage &gt; 0 and &lt; 100', html
    )
    assert "Stage 1 (Challenge), max loss %: Must be a percentage" in html
    assert 'value="150"' in html  # what was typed stays
    assert not Challenge.objects.exists()
    assert not AuditRecord.objects.filter(action__startswith="challenges.").exists()


def test_a_fault_lands_on_the_stage_row_it_is_in_when_a_row_above_is_empty(admin):
    rows = [TWO_STEP_ROWS[0], {}, {**TWO_STEP_ROWS[2], "profit_share_pct": "0"}]
    response = post_form(logged_in(admin), NEW, challenge_form(rows))
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="stage-2-profit_share_pct-errors"' in html
    assert "Stage 3 (Funded), profit share %" in html
    assert not Challenge.objects.exists()


def test_a_rule_that_cannot_be_read_is_named_on_its_field(admin):
    rows = with_row(1, upgrade_immediately=None)  # unticked, with an unlimited period
    response = post_form(logged_in(admin), NEW, challenge_form(rows))
    assert response.status_code == 422
    assert 'id="stage-1-upgrade_immediately-errors"' in response.content.decode()
    assert not Challenge.objects.exists()


def test_a_form_with_no_stage_is_refused(admin):
    response = post_form(logged_in(admin), NEW, challenge_form([]))
    assert response.status_code == 422
    assert "Fill in at least one stage" in response.content.decode()
    assert not Challenge.objects.exists()


def test_a_number_field_with_text_is_refused_before_the_catalogue(admin):
    response = post_form(logged_in(admin), NEW, challenge_form(with_row(0, leverage="lots")))
    assert response.status_code == 422
    assert "Stage 1 (Challenge), leverage (1:n): Enter a whole number." in response.content.decode()
    assert not Challenge.objects.exists()


def test_an_ended_challenge_is_not_edited(admin, published):
    catalogue.end(published.pk, actor=admin)
    http = logged_in(admin)
    response = post_form(http, f"{page_of(published)}edit/", challenge_form(fee="1.00"))
    assert response.status_code == 302
    assert "duplicate it instead" in http.get(response["Location"]).content.decode()
    assert not fresh(published).versions.filter(state="draft").exists()


# --- publish, duplicate, end ---------------------------------------------------------------------


def test_publishing_from_the_page_supersedes_the_published_version(admin, published):
    catalogue.save_draft(published.pk, {**TWO_STEP, "fee": "599.00"}, actor=admin)
    http = logged_in(admin)
    digest = digest_on(http.get(page_of(published)).content.decode())
    response = post_form(http, f"{page_of(published)}publish/", {"digest": digest})
    assert response.status_code == 302
    challenge = fresh(published)
    assert challenge.published().number == 2
    assert challenge.published().definition["fee"] == "599.00"
    assert challenge.draft() is None
    states = dict(challenge.versions.values_list("number", "state"))
    assert states == {1: "superseded", 2: "published"}
    html = http.get(page_of(challenge)).content.decode()
    assert "Version 2 of 2-Step 100K is published (1 change)" in html
    assert "Publish v" not in html


def test_the_first_publication_makes_the_challenge_published(admin, drafted):
    http = logged_in(admin)
    digest = digest_on(http.get(page_of(drafted)).content.decode())
    assert post_form(http, f"{page_of(drafted)}publish/", {"digest": digest}).status_code == 302
    assert fresh(drafted).status == "published"
    assert AuditRecord.objects.filter(action=AuditAction.CHALLENGE_PUBLISH, actor=admin).exists()


def test_publish_refuses_a_draft_changed_since_the_comparison_was_shown(admin, published):
    catalogue.save_draft(published.pk, {**TWO_STEP, "fee": "599.00"}, actor=admin)
    http = logged_in(admin)
    digest = digest_on(http.get(page_of(published)).content.decode())
    catalogue.save_draft(published.pk, {**TWO_STEP, "fee": "5.00"}, actor=admin)
    response = post_form(http, f"{page_of(published)}publish/", {"digest": digest})
    assert response.status_code == 409
    assert "The draft changed since the comparison was shown" in response.content.decode()
    assert fresh(published).published().number == 1


def test_publishing_with_no_draft_shows_the_catalogues_refusal(admin, published):
    response = post_form(logged_in(admin), f"{page_of(published)}publish/", {"digest": ""})
    assert response.status_code == 409
    assert "There is no draft to publish." in response.content.decode()
    assert fresh(published).published().number == 1


def test_duplicate_makes_a_draft_copy_and_opens_it(admin, published):
    response = post_form(logged_in(admin), f"{page_of(published)}duplicate/", {})
    copy_ = Challenge.objects.exclude(pk=published.pk).get()
    assert response.status_code == 302
    assert response["Location"] == page_of(copy_)
    assert copy_.name == "Copy of 2-Step 100K"
    assert copy_.status == "draft"
    assert copy_.draft().definition["stages"] == published.published().definition["stages"]
    assert fresh(published).status == "published"


def test_end_asks_first_then_ends_and_discards_the_draft(admin, published):
    catalogue.save_draft(published.pk, {**TWO_STEP, "fee": "599.00"}, actor=admin)
    http = logged_in(admin)
    confirm = http.get(f"{page_of(published)}end/").content.decode()
    assert "End the challenge" in confirm
    assert "draft v2 is discarded" in confirm
    assert fresh(published).status == "published"
    response = post_form(http, f"{page_of(published)}end/", {})
    assert response.status_code == 302
    challenge = fresh(published)
    assert challenge.status == "ended"
    assert challenge.published().number == 1  # its participants keep it
    assert not ChallengeVersion.objects.filter(challenge=challenge, state="draft").exists()
    html = http.get(page_of(challenge)).content.decode()
    assert "is ended" in html
    assert "End challenge" not in html
    assert "Edit" not in html


def test_ending_an_ended_challenge_shows_the_refusal(admin, published):
    catalogue.end(published.pk, actor=admin)
    response = post_form(logged_in(admin), f"{page_of(published)}end/", {})
    assert response.status_code == 409
    assert 'id="action-error"' in response.content.decode()


def test_an_unknown_challenge_is_not_found(admin):
    assert logged_in(admin).get(f"{LIST}999999/").status_code == 404


def test_a_challenge_ended_before_publication_keeps_its_page_and_can_be_copied(admin, drafted):
    catalogue.end(drafted.pk, actor=admin)  # its only version, the draft, is kept
    http = logged_in(admin)
    html = http.get(page_of(drafted)).content.decode()
    assert "Ended" in html
    assert "Duplicate" in html
    assert "2-Step 100K" in http.get(LIST).content.decode()
    assert post_form(http, f"{page_of(drafted)}duplicate/", {}).status_code == 302
    assert Challenge.objects.count() == 2
