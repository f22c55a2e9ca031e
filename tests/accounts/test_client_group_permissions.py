"""Every page of Settings > Client groups refuses staff without the clients.groups permission
(the Support role), reading or changing, and changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from propdesk.accounts import groups
from propdesk.accounts.models import ClientGroup, GroupRule
from tests.conftest import logged_in, post_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def spare(admin):
    made = groups.save_group(None, name="Spare", actor=admin)
    rule = groups.save_rule(None, kind="country", value="SK", group=made.pk, actor=admin)
    return made, rule


def pages(group, rule):
    return [
        ("get", reverse("backoffice:client_group_new"), {}),
        ("post", reverse("backoffice:client_group_new"), {"name": "Sneaky"}),
        ("get", reverse("backoffice:client_group_edit", args=[group.pk]), {}),
        ("post", reverse("backoffice:client_group_edit", args=[group.pk]), {"description": "x"}),
        ("post", reverse("backoffice:client_group_default", args=[group.pk]), {}),
        ("post", reverse("backoffice:client_group_delete", args=[group.pk]), {}),
        ("get", reverse("backoffice:group_rule_new"), {}),
        (
            "post",
            reverse("backoffice:group_rule_new"),
            {"kind": "country", "value": "AT", "group": group.pk, "position": 0},
        ),
        ("get", reverse("backoffice:group_rule_edit", args=[rule.pk]), {}),
        ("post", reverse("backoffice:group_rule_delete", args=[rule.pk]), {}),
    ]


def test_support_is_refused_every_client_groups_page_and_nothing_changes(support, spare):
    group, rule = spare
    http = logged_in(support)
    before = (
        list(ClientGroup.objects.values_list("name", "description", "is_default")),
        list(GroupRule.objects.values_list("kind", "value", "group_id")),
    )
    for method, url, data in pages(group, rule):
        answer = http.get(url) if method == "get" else post_form(http, url, data)
        assert answer.status_code == 403, (method, url)
    assert before == (
        list(ClientGroup.objects.values_list("name", "description", "is_default")),
        list(GroupRule.objects.values_list("kind", "value", "group_id")),
    )
