"""Client groups: staff make groups (names kept as first written), choose the default, delete
only unused ones, move one client or many, and set the rules that place new clients; every
change is audited and needs the `clients.groups` permission."""

from __future__ import annotations

import pytest
from django.urls import reverse

from propdesk.accounts import groups
from propdesk.accounts.models import Client, ClientGroup, GroupRule, default_group
from propdesk.challenges.catalogue import services as catalogue
from propdesk.core.audit import AuditAction
from propdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from propdesk.core.models import AuditRecord
from propdesk.wallet import deposits
from tests.api.conftest import Api
from tests.challenges.factories import definition
from tests.conftest import PASSWORD, logged_in, post_form

pytestmark = pytest.mark.django_db


def audited(action: AuditAction) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(action=action).order_by("id"))


# --- groups ------------------------------------------------------------------------------------


def test_a_group_is_made_with_its_name_trimmed_and_audited(admin):
    vip = groups.save_group(None, name="  VIP  ", description="Our best", actor=admin)
    assert (vip.name, vip.description, vip.is_default) == ("VIP", "Our best", False)
    [record] = audited(AuditAction.CLIENT_GROUP_CREATE)
    assert record.after["name"] == "VIP"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 200, "at most 60"),
        ("VIP\x00", "control characters"),
        ("V\nIP", "control characters"),
        (["VIP"], "must be text"),
        ("vip", "already exists"),  # the same name in another case
    ],
)
def test_a_bad_group_name_is_refused_and_nothing_is_made(admin, name, says):
    groups.save_group(None, name="VIP", actor=admin)
    with pytest.raises(ValidationFailed) as refused:
        groups.save_group(None, name=name, actor=admin)
    assert says in refused.value.fields["name"]
    assert ClientGroup.objects.filter(name__iexact="vip").count() == 1
    assert len(audited(AuditAction.CLIENT_GROUP_CREATE)) == 1


def test_a_groups_description_changes_but_its_name_never_does(admin):
    vip = groups.save_group(None, name="VIP", actor=admin)
    groups.save_group(vip.pk, description="High rollers", actor=admin)
    vip.refresh_from_db()
    assert (vip.name, vip.description) == ("VIP", "High rollers")
    with pytest.raises(ValidationFailed) as refused:
        groups.save_group(vip.pk, name="Gold", description="x", actor=admin)
    assert "kept as first written" in refused.value.fields["name"]
    vip.refresh_from_db()
    assert (vip.name, vip.description) == ("VIP", "High rollers")
    [change] = audited(AuditAction.CLIENT_GROUP_UPDATE)
    assert change.before["description"] == ""
    assert change.after["description"] == "High rollers"


def test_a_long_description_is_refused(admin):
    with pytest.raises(ValidationFailed) as refused:
        groups.save_group(None, name="VIP", description="d" * 201, actor=admin)
    assert "description" in refused.value.fields
    assert not ClientGroup.objects.filter(name="VIP").exists()


def test_choosing_the_default_group_moves_the_flag_and_new_clients_follow(admin, register):
    standard = default_group()
    vip = groups.save_group(None, name="VIP", actor=admin)
    groups.set_default(vip.pk, actor=admin)
    standard.refresh_from_db()
    assert not standard.is_default
    assert default_group() == vip
    client, _ = register()
    assert client.group == vip
    [record] = audited(AuditAction.CLIENT_GROUP_DEFAULT)
    assert record.before == {"default": "Standard"}
    assert record.after == {"default": "VIP"}


def test_an_unused_group_is_deleted_and_a_used_one_is_refused(admin, active_client):
    spare = groups.save_group(None, name="Spare", actor=admin)
    groups.delete_group(spare.pk, actor=admin)
    assert not ClientGroup.objects.filter(name="Spare").exists()
    assert audited(AuditAction.CLIENT_GROUP_DELETE)[0].before["name"] == "Spare"

    with pytest.raises(Conflict, match="1 client"):  # its member, and the default
        groups.delete_group(active_client.group_id, actor=admin)
    with pytest.raises(NotFound):
        groups.delete_group(99999, actor=admin)


def test_a_group_named_by_a_rule_a_method_a_server_or_a_challenge_is_not_deleted(
    admin, bank_transfer
):
    by_rule = groups.save_group(None, name="ByRule", actor=admin)
    groups.save_rule(None, kind="country", value="DE", group=by_rule.pk, actor=admin)
    by_method = groups.save_group(None, name="ByMethod", actor=admin)
    bank_transfer.client_groups.set([by_method])
    by_challenge = groups.save_group(None, name="ByChallenge", actor=admin)
    catalogue.create(definition(client_groups=["bychallenge"]), actor=admin)
    for group, says in (
        (by_rule, "registration rule"),
        (by_method, "payment method Bank transfer"),
        (by_challenge, "challenge 2-Step 100K"),
    ):
        with pytest.raises(Conflict, match=says):
            groups.delete_group(group.pk, actor=admin)
        assert ClientGroup.objects.filter(pk=group.pk).exists()
    assert not audited(AuditAction.CLIENT_GROUP_DELETE)


# --- members -----------------------------------------------------------------------------------


def test_many_clients_move_to_a_group_at_once_in_one_audit_row(admin, register):
    vip = groups.save_group(None, name="VIP", actor=admin)
    made = [register()[0] for _ in range(3)]
    moved = groups.assign([c.pk for c in made[:2]], vip.pk, actor=admin)
    assert moved == 2
    assert [Client.objects.get(pk=c.pk).group.name for c in made] == ["VIP", "VIP", "Standard"]
    again = groups.assign([str(made[0].pk), made[2].pk], vip.pk, actor=admin)
    assert again == 1  # the one already there is left as it is
    rows = audited(AuditAction.CLIENT_GROUP_ASSIGN)
    assert len(rows) == 2
    assert rows[0].after["clients"] == sorted(c.pk for c in made[:2])
    assert rows[0].after["group"] == "VIP"  # names: a group emptied by a move may be deleted
    assert rows[0].before["groups"] == {c.email: "Standard" for c in made[:2]}


@pytest.mark.parametrize(
    ("ids", "field"),
    [([], "clients"), (["abc"], "clients"), ([1.5], "clients"), (list(range(1, 502)), "clients")],
)
def test_bad_client_ids_move_nobody(admin, active_client, ids, field):
    vip = groups.save_group(None, name="VIP", actor=admin)
    with pytest.raises(ValidationFailed) as refused:
        groups.assign(ids, vip.pk, actor=admin)
    assert field in refused.value.fields
    assert Client.objects.get(pk=active_client.pk).group.name == "Standard"


def test_an_unknown_client_or_group_moves_nobody(admin, active_client):
    vip = groups.save_group(None, name="VIP", actor=admin)
    with pytest.raises(NotFound):
        groups.assign([active_client.pk, 999999], vip.pk, actor=admin)
    with pytest.raises(NotFound):
        groups.assign([active_client.pk], 999999, actor=admin)
    with pytest.raises(ValidationFailed):
        groups.assign([active_client.pk], "", actor=admin)
    assert Client.objects.get(pk=active_client.pk).group.name == "Standard"
    assert not audited(AuditAction.CLIENT_GROUP_ASSIGN)


def test_staff_without_the_permission_change_no_group(support, active_client):
    vip = ClientGroup.objects.create(name="VIP")
    for attempt in (
        lambda: groups.save_group(None, name="Gold", actor=support),
        lambda: groups.set_default(vip.pk, actor=support),
        lambda: groups.delete_group(vip.pk, actor=support),
        lambda: groups.assign([active_client.pk], vip.pk, actor=support),
        lambda: groups.save_rule(None, kind="country", value="CZ", group=vip.pk, actor=support),
    ):
        with pytest.raises(Forbidden):
            attempt()
    assert Client.objects.get(pk=active_client.pk).group.name == "Standard"
    assert not ClientGroup.objects.filter(name="Gold").exists()


# --- registration rules ------------------------------------------------------------------------


def test_the_first_matching_rule_places_a_new_client_else_the_default(admin, register):
    germany = groups.save_group(None, name="Germany", actor=admin)
    partners = groups.save_group(None, name="Partners", actor=admin)
    groups.save_rule(None, kind="country", value="de", group=germany.pk, position=5, actor=admin)
    groups.save_rule(
        None, kind="referrer", value="FRIEND1", group=partners.pk, position=1, actor=admin
    )
    groups.save_rule(None, kind="promo_link", value="SPRING", group=partners.pk, actor=admin)
    friend = register(nationality="DE")[0]
    assert friend.group == germany
    friend.referral_code = "FRIEND1"
    friend.save(update_fields=["referral_code"])
    assert register(nationality="DE", referral_code="friend1")[0].group == partners  # lower first
    assert register(nationality="CZ")[0].group.name == "Standard"
    assert groups.group_for_registration(country="FR", promo_code="spring") == partners
    assert groups.group_for_registration() == default_group()
    assert len(audited(AuditAction.GROUP_RULE_SAVE)) == 3


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [
        ("country", "XX", "value"),
        ("country", "", "value"),
        ("referrer", "a b", "value"),
        ("referrer", "x" * 61, "value"),
        ("referrer", "AB\x07", "value"),
        ("weather", "sunny", "kind"),
    ],
)
def test_a_bad_rule_is_refused(admin, kind, value, field):
    vip = groups.save_group(None, name="VIP", actor=admin)
    with pytest.raises(ValidationFailed) as refused:
        groups.save_rule(None, kind=kind, value=value, group=vip.pk, actor=admin)
    assert field in refused.value.fields
    assert not GroupRule.objects.exists()


def test_a_second_rule_for_the_same_value_and_a_missing_group_are_refused(admin):
    vip = groups.save_group(None, name="VIP", actor=admin)
    groups.save_rule(None, kind="country", value="DE", group=vip.pk, actor=admin)
    with pytest.raises(ValidationFailed) as refused:
        groups.save_rule(None, kind="country", value="de", group=vip.pk, actor=admin)
    assert "already exists" in refused.value.fields["value"]
    with pytest.raises(ValidationFailed) as refused:
        groups.save_rule(None, kind="country", value="AT", group=424242, actor=admin)
    assert "group" in refused.value.fields
    assert GroupRule.objects.count() == 1


def test_a_rule_is_deleted_and_audited(admin):
    vip = groups.save_group(None, name="VIP", actor=admin)
    rule = groups.save_rule(None, kind="country", value="DE", group=vip.pk, actor=admin)
    groups.delete_rule(rule.pk, actor=admin)
    assert not GroupRule.objects.exists()
    assert audited(AuditAction.GROUP_RULE_DELETE)[0].before["value"] == "DE"
    groups.delete_group(vip.pk, actor=admin)  # unused now


# --- the pages ---------------------------------------------------------------------------------


def test_settings_client_groups_lists_groups_with_their_members(admin, active_client):
    groups.save_group(None, name="VIP", description="High rollers", actor=admin)
    page = logged_in(admin).get(reverse("backoffice:client_groups")).content.decode()
    assert 'data-group="Standard"' in page
    assert 'data-group="VIP"' in page
    assert "High rollers" in page
    assert "Client groups" in logged_in(admin).get(reverse("backoffice:clients")).content.decode()


def test_staff_add_and_edit_a_group_through_the_pages(admin):
    http = logged_in(admin)
    response = post_form(
        http, reverse("backoffice:client_group_new"), {"name": "VIP", "description": "x"}
    )
    assert response.status_code == 302
    vip = ClientGroup.objects.get(name="VIP")
    edit = reverse("backoffice:client_group_edit", kwargs={"group_id": vip.pk})
    response = post_form(http, edit, {"name": "Renamed", "description": "y"})
    assert response.status_code == 302
    vip.refresh_from_db()
    assert (vip.name, vip.description) == ("VIP", "y")  # the name field is not taken
    refused = post_form(http, reverse("backoffice:client_group_new"), {"name": "vip"})
    assert refused.status_code == 422
    assert "already exists" in refused.content.decode()


def test_a_used_group_is_not_deleted_from_the_page(admin, active_client):
    http = logged_in(admin)
    standard = active_client.group
    url = reverse("backoffice:client_group_delete", kwargs={"group_id": standard.pk})
    page = http.get(post_form(http, url, {})["Location"]).content.decode()
    assert "cannot be deleted" in page
    assert ClientGroup.objects.filter(pk=standard.pk).exists()


def test_staff_change_a_clients_group_on_their_page(admin, active_client):
    vip = groups.save_group(None, name="VIP", actor=admin)
    http = logged_in(admin)
    page = http.get(reverse("backoffice:client", kwargs={"client_id": active_client.pk}))
    assert 'data-summary="group">Standard' in page.content.decode()
    url = reverse("backoffice:client_group_assign", kwargs={"client_id": active_client.pk})
    assert post_form(http, url, {"group": vip.pk}).status_code == 302
    assert Client.objects.get(pk=active_client.pk).group == vip
    assert audited(AuditAction.CLIENT_GROUP_ASSIGN)[0].summary.endswith("moved to VIP")


def test_staff_move_the_clients_ticked_on_the_list(admin, register):
    vip = groups.save_group(None, name="VIP", actor=admin)
    made = [register()[0] for _ in range(3)]
    http = logged_in(admin)
    assert 'name="clients"' in http.get(reverse("backoffice:clients")).content.decode()
    response = post_form(
        http,
        reverse("backoffice:clients_assign"),
        {"clients": [made[0].pk, made[2].pk], "group": vip.pk, "next": "https://evil.test/"},
    )
    assert response["Location"] == reverse("backoffice:clients")  # never elsewhere
    assert sorted(Client.objects.filter(group=vip).values_list("pk", flat=True)) == sorted(
        [made[0].pk, made[2].pk]
    )
    listed = http.get(reverse("backoffice:clients") + f"?group={vip.pk}").content.decode()
    assert made[0].user.name in listed
    assert made[1].user.name not in listed


def test_the_pages_refuse_staff_without_the_permission(support, active_client):
    vip = ClientGroup.objects.create(name="VIP")
    http = logged_in(support)
    assert http.get(reverse("backoffice:client_groups")).status_code == 403
    url = reverse("backoffice:client_group_assign", kwargs={"client_id": active_client.pk})
    assert post_form(http, url, {"group": vip.pk}).status_code == 403
    bulk = reverse("backoffice:clients_assign")
    assert (
        post_form(http, bulk, {"clients": [active_client.pk], "group": vip.pk}).status_code == 403
    )
    assert Client.objects.get(pk=active_client.pk).group.name == "Standard"
    page = http.get(reverse("backoffice:client", kwargs={"client_id": active_client.pk}))
    assert "Change group" not in page.content.decode()  # shown, not changeable


def test_a_client_reads_their_group_in_the_api(active_client):
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    assert api.call("GET", "/me", token=token).json()["client"]["group"] == "Standard"


def test_a_method_limited_to_a_group_is_saved_with_it_and_audited(admin):
    vip = groups.save_group(None, name="VIP", actor=admin)
    method = deposits.save_payment_method(
        None,
        name="VIP card",
        kind="online",
        provider="sandbox",
        currencies=["USD"],
        min_amount="10",
        max_amount="100",
        client_groups=[vip.pk],
        actor=admin,
    )
    assert list(method.client_groups.all()) == [vip]
    record = AuditRecord.objects.filter(action=AuditAction.PAYMENT_METHOD_CREATE).get()
    assert record.after["client_groups"] == ["VIP"]
    with pytest.raises(ValidationFailed) as refused:
        deposits.save_payment_method(
            method.pk,
            name="VIP card",
            kind="online",
            provider="sandbox",
            currencies=["USD"],
            min_amount="10",
            max_amount="100",
            client_groups=["Nobody"],
            actor=admin,
        )
    assert "client_groups" in refused.value.fields
    assert list(method.client_groups.all()) == [vip]


def test_staff_add_a_rule_through_the_page_and_bad_values_come_back(admin):
    vip = groups.save_group(None, name="VIP", actor=admin)
    http = logged_in(admin)
    new = reverse("backoffice:group_rule_new")
    rule = {"kind": "country", "value": "at", "group": vip.pk, "position": 3}
    assert post_form(http, new, rule).status_code == 302
    assert GroupRule.objects.get().value == "AT"
    for bad in ({"value": "Atlantis"}, {"value": "x" * 200}, {"kind": "planet"}, {"group": 0}):
        response = post_form(http, new, {**rule, "value": "DE", **bad})
        assert response.status_code == 422
    assert GroupRule.objects.count() == 1
    page = http.get(reverse("backoffice:client_groups")).content.decode()
    assert "<code>AT</code>" in page


@pytest.mark.parametrize("name", ["", "x" * 200, "bad\x1bname"])
def test_a_bad_name_on_the_new_group_page_comes_back_and_makes_nothing(admin, name):
    response = post_form(logged_in(admin), reverse("backoffice:client_group_new"), {"name": name})
    assert response.status_code == 422
    assert ClientGroup.objects.count() == 1  # Standard only
