"""Every paged list answers `{"items": [...], "next": <cursor> | null}` and takes the cursor
back as `after`: each row once, in the list's order, even when rows share their time."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from django.core import signing
from django.utils import timezone

from propdesk.approvals.models import ApprovalRequest
from propdesk.core import pagination
from propdesk.core.errors import ValidationFailed
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


def _unsigned(key: object) -> str:
    """A cursor as the API wrote them before they were signed: base64 JSON of the key."""
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


# Times the database cannot take (PostgreSQL: an offset of 16 hours or more) or cannot move to
# UTC (SQLite: before year 1, after year 9999): once a 500, a 422 now.
FORGED = [
    _unsigned(["2026-01-01T00:00:00+16:00", 1]),
    _unsigned(["2026-01-01T00:00:00-23:59", 1]),
    _unsigned(["0001-01-01T00:00:00+05:00", 1]),
    _unsigned(["9999-12-31T23:59:59-05:00", 1]),
    _unsigned([1767225600000000, 1]),
]


@pytest.mark.parametrize("cursor", FORGED)
@pytest.mark.parametrize("path", ["/approvals?", "/approvals?mine=true&"])
def test_a_made_up_cursor_is_a_422_on_the_approvals(api, admin, path, cursor):
    token = api.token(admin.email, PASSWORD)
    response = api.call("GET", f"{path}after={cursor}", token=token)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["after"]


@pytest.mark.parametrize("cursor", FORGED)
@pytest.mark.parametrize("path", ["/wallet/transactions", "/wallet/withdrawals"])
def test_a_made_up_cursor_is_a_422_on_the_wallet(api, active_client, path, cursor):
    token = api.token(active_client.user.email, PASSWORD)
    response = api.call("GET", f"{path}?after={cursor}", token=token)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["after"]


def _approvals_next(api, admin, register, query=""):
    for _ in range(3):
        register()
    token = api.token(admin.email, PASSWORD)
    found = api.call("GET", f"/approvals?limit=1{query}", token=token).json()["next"]
    assert found
    return found


@pytest.mark.parametrize("path", ["/wallet/transactions", "/wallet/withdrawals"])
def test_an_approvals_cursor_is_refused_by_the_wallet(api, admin, register, active_client, path):
    cursor = _approvals_next(api, admin, register)
    token = api.token(active_client.user.email, PASSWORD)
    response = api.call("GET", f"{path}?after={cursor}", token=token)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["after"]


def test_a_cursor_is_good_only_for_the_filters_it_was_given_with(api, admin, register):
    cursor = _approvals_next(api, admin, register)
    token = api.token(admin.email, PASSWORD)
    assert api.call("GET", f"/approvals?limit=1&after={cursor}", token=token).status_code == 200
    for other in ("&mine=true", "&status=pending", "&type=kyc"):
        response = api.call("GET", f"/approvals?limit=1&after={cursor}{other}", token=token)
        assert response.status_code == 422, other
        assert list(response.json()["fields"]) == ["after"]


def test_a_cursor_is_good_only_for_the_staff_member_it_was_given_to(
    api, admin, register, compliance
):
    cursor = _approvals_next(api, admin, register)
    token = api.token(compliance.email, PASSWORD)
    response = api.call("GET", f"/approvals?limit=1&after={cursor}", token=token)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["after"]


@pytest.mark.parametrize("cursor", [_unsigned([5]), _unsigned([1])])
def test_an_integer_cursor_not_ours_is_refused_by_the_participants(api, admin, cursor):
    token = api.token(admin.email, PASSWORD)
    response = api.call("GET", f"/participants?after={cursor}", token=token)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["after"]


def test_a_cursor_of_the_transactions_report_is_refused_by_the_participants():
    # both lists page by a whole number; the report's cursor still is not the participants'
    cursor = pagination.encode_id(5, tag="reports.transactions", scope="")
    with pytest.raises(ValidationFailed) as refused:
        pagination.decode_id(cursor, tag="participants", scope="")
    assert list(refused.value.fields) == ["after"]
    assert pagination.decode_id(cursor, tag="reports.transactions", scope="") == 5


@pytest.mark.parametrize(
    "key",
    [
        [-1, 1],  # before 1970
        [pagination._MOST_MICROSECONDS + 1, 1],  # past year 9999
        [10**30, 1],
        [0, -1],
        [0, 2**63],
        ["2026-01-01T00:00:00+16:00", 1],  # a time is written as a whole number
        [1.5, 1],
        [True, 1],
        [1],
        [1, 2, 3],
        {"at": 1},
    ],
)
def test_a_cursor_signed_by_us_is_still_read_only_within_its_bounds(key):
    """Defence in depth: the signature keeps made-up cursors out, and the key is read only as
    encode writes it."""
    cursor = signing.Signer(salt="propdesk.page:approvals:", sep=".").sign_object(key)
    with pytest.raises(ValidationFailed) as refused:
        pagination.decode(cursor, shape=[datetime, int], tag="approvals")
    assert list(refused.value.fields) == ["after"]


def test_a_cursor_holds_a_rows_time_exactly():
    at = datetime(2026, 3, 2, 14, 2, 11, 123456, tzinfo=UTC)
    cursor = pagination.encode([at, 7], tag="x")
    assert pagination.decode(cursor, shape=[datetime, int], tag="x") == [at, 7]


@pytest.mark.parametrize("path", ["/approvals?offset=50", "/approvals?mine=true&offset=0"])
def test_an_offset_is_refused_pointing_to_after_on_the_approvals(api, admin, path):
    response = api.call("GET", path, token=api.token(admin.email, PASSWORD))
    assert response.status_code == 422
    assert "after" in response.json()["fields"]["offset"]


def test_an_offset_is_refused_pointing_to_after_on_my_withdrawals(api, active_client):
    token = api.token(active_client.user.email, PASSWORD)
    response = api.call("GET", "/wallet/withdrawals?offset=50", token=token)
    assert response.status_code == 422
    assert "after" in response.json()["fields"]["offset"]
