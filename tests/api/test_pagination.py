"""Every paged list answers `{"items": [...], "next": <cursor> | null}` and takes the cursor
back as `after`: each row once, in the list's order, even when rows share their time."""

from __future__ import annotations

import pytest
from django.utils import timezone

from propdesk.approvals.models import ApprovalRequest
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _walk(api, path, token, limit, mine=False):
    seen, after, pages = [], "&mine=true" if mine else "", 0
    while True:
        page = api.call("GET", f"{path}?limit={limit}{after}", token=token).json()
        assert set(page) == {"items", "next"}
        assert len(page["items"]) <= limit
        seen += [item["id"] for item in page["items"]]
        pages += 1
        if page["next"] is None:
            return seen, pages
        after = f"&after={page['next']}" + ("&mine=true" if mine else "")


def test_approvals_page_newest_first_each_once_when_rows_share_their_time(api, admin, register):
    made = [register()[1].pk for _ in range(5)]
    ApprovalRequest.objects.filter(pk__in=made[1:4]).update(created_at=timezone.now())
    token = api.token(admin.email, PASSWORD)
    everything = [r.pk for r in ApprovalRequest.objects.order_by("-created_at", "-id")]
    seen, pages = _walk(api, "/approvals", token, limit=2)
    assert seen == everything
    assert pages == 3


def test_my_approvals_to_do_page_oldest_first(api, admin, register):
    made = [register()[1].pk for _ in range(3)]
    token = api.token(admin.email, PASSWORD)
    seen, _ = _walk(api, "/approvals", token, limit=1, mine=True)
    assert seen == made


def test_a_cursor_of_another_list_is_refused(api, admin, register, active_client):
    for _ in range(3):
        register()
    token = api.token(admin.email, PASSWORD)
    approvals_next = api.call("GET", "/approvals?limit=1", token=token).json()["next"]
    response = api.call("GET", f"/participants?after={approvals_next}", token=token)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["after"]
