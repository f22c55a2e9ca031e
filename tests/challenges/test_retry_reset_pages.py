"""The paid retry and reset as people meet them: the portal's buttons (the price, the discount
and until when, the reset's confirmation), the API's `retry` and `reset` operations under an
Idempotency-Key, and the participant page telling staff what was retried and reset."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest

from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.participation import retries
from propdesk.wallet import ledger
from propdesk.wallet.models import JournalEntry
from tests.api.conftest import Api
from tests.challenges.factories import failed_with_offers, fund, with_offers
from tests.conftest import PASSWORD, logged_in, post_form
from tests.support import carry_out_platform_commands

pytestmark = pytest.mark.django_db

D = Decimal
MINE = "/portal/my-challenges/"


def form_key(page: str, action: str) -> str:
    found = re.search(
        rf'action="{re.escape(action)}"[^>]*>\s*<input type="hidden" name="csrfmiddlewaretoken"'
        r'[^>]*><input type="hidden" name="idempotency_key" value="([^"]+)"',
        page,
    )
    assert found, f"the form posting to {action} carries a one-time key"
    return found.group(1)


# --- the portal -----------------------------------------------------------------------------


def test_my_challenges_offers_the_retry_with_its_discount_and_until_when(
    active_client, finance, admin
):
    offer = {"fee": "100", "discount_pct": "20", "discount_days": 3}
    failed, _ = failed_with_offers(active_client, finance, admin, retry=offer)
    until = retries.retry_price(failed).discount_until
    http = logged_in(active_client.user)
    page = http.get(MINE).content.decode()
    assert f'data-retry-for="{failed.pk}"' in page
    assert "Retry for 80.00 USD" in page
    assert "20% off the 100.00 USD retry fee until" in page
    assert f"{until:%Y-%m-%d}" in page
    detail = http.get(f"{MINE}{failed.pk}/").content.decode()
    assert 'id="retry"' in detail
    assert "Retry for 80.00 USD" in detail


def test_retrying_from_my_challenges_charges_once_and_opens_the_new_challenge(
    active_client, finance, admin
):
    failed, _ = failed_with_offers(active_client, finance, admin)
    http = logged_in(active_client.user)
    action = f"{MINE}{failed.pk}/retry/"
    key = form_key(http.get(MINE).content.decode(), action)
    response = post_form(http, action, {"idempotency_key": key})
    made = Participation.objects.get(retry_of=failed)
    assert response.status_code == 302
    assert response["Location"] == f"{MINE}{made.pk}/"
    again = post_form(http, action, {"idempotency_key": key})  # the double click
    assert again["Location"] == f"{MINE}{made.pk}/"
    assert ledger.balances(active_client) == {"USD": D("402.00")}
    page = http.get(f"{MINE}{made.pk}/").content.decode()
    assert "Your new challenge is" in page
    assert failed.reference in page  # Retry of PTP-…
    listing = http.get(MINE).content.decode()
    assert f'data-retry-for="{failed.pk}"' not in listing
    assert f'Retried as <a href="{MINE}{made.pk}/">{made.reference}</a>' in listing


def hidden_fields(page: str, action: str) -> dict[str, str]:
    """What the form posting to `action` sends without the person typing anything."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page, re.S)
    assert form, f"a form posts to {action}"
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def test_a_retry_pressed_after_its_discount_ended_charges_nothing_and_shows_the_new_price(
    active_client, finance, admin
):
    offer = {"fee": "100", "discount_pct": "20", "discount_days": 3}
    failed, attempt = failed_with_offers(active_client, finance, admin, retry=offer)
    http = logged_in(active_client.user)
    action = f"{MINE}{failed.pk}/retry/"
    page = http.get(MINE).content.decode()
    assert "Retry for 80.00 USD" in page
    # The page stays open while the discount ends.
    StageAttempt.objects.filter(pk=attempt.pk).update(
        ended_at=attempt.ended_at - timedelta(days=3, minutes=1)
    )
    response = post_form(http, action, hidden_fields(page, action))
    assert response.status_code == 409
    shown = response.content.decode()
    assert 'id="action-error"' in shown
    assert "now costs 100.00 USD" in shown
    assert "Retry for 100.00 USD" in shown
    assert not Participation.objects.filter(retry_of=failed).exists()
    assert ledger.balances(active_client) == {"USD": D("501.00")}
    done = post_form(http, action, hidden_fields(shown, action))  # at the price now shown
    assert done.status_code == 302
    assert Participation.objects.get(retry_of=failed).fee == D("100.00")
    assert ledger.balances(active_client) == {"USD": D("401.00")}


def test_a_retry_short_of_money_says_so_and_charges_nothing(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin, retry={"fee": "600"})
    http = logged_in(active_client.user)
    action = f"{MINE}{failed.pk}/retry/"
    key = form_key(http.get(MINE).content.decode(), action)
    response = post_form(http, action, {"idempotency_key": key})
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="action-error"' in page
    assert "Deposit to your wallet" in page
    assert not Participation.objects.filter(retry_of=failed).exists()
    assert ledger.balances(active_client) == {"USD": D("501.00")}


def test_a_retry_form_without_its_key_charges_nothing(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    http = logged_in(active_client.user)
    for data in ({}, {"idempotency_key": "x" * 101}, {"idempotency_key": "a\u0000b"}):
        response = post_form(http, f"{MINE}{failed.pk}/retry/", data)
        assert response.status_code == 422
        assert "This form has expired" in response.content.decode()
    assert not Participation.objects.filter(retry_of=failed).exists()


def test_another_client_cannot_retry_or_reset_and_sees_nothing(
    active_client, register, finance, admin
):
    failed, _ = failed_with_offers(active_client, finance, admin)
    other, _ = register(email="other@example.com")
    fund(other, finance)
    http = logged_in(other.user)
    for path in (f"{MINE}{failed.pk}/retry/", f"{MINE}{failed.pk}/reset/", f"{MINE}999999/retry/"):
        response = post_form(http, path, {"idempotency_key": "k", "attempt": "1", "confirm": "on"})
        assert response.status_code == 404
    assert not Participation.objects.filter(retry_of=failed).exists()
    assert ledger.balances(other) == {"USD": D("1000.00")}


def test_the_retry_and_reset_are_posts_only(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    http = logged_in(active_client.user)
    assert http.get(f"{MINE}{failed.pk}/retry/").status_code == 405
    assert http.get(f"{MINE}{failed.pk}/reset/").status_code == 405


def test_a_running_stage_offers_a_reset_that_must_be_confirmed(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    http = logged_in(active_client.user)
    page = http.get(f"{MINE}{joined.pk}/").content.decode()
    assert 'id="reset"' in page
    assert 'data-reset-price="49.00"' in page
    assert f"Your account {attempt.login} is closed" in page
    assert "Retry for" not in page  # it has not failed
    action = f"{MINE}{joined.pk}/reset/"
    key = form_key(page, action)
    unconfirmed = post_form(http, action, {"idempotency_key": key, "attempt": attempt.pk})
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm the reset." in unconfirmed.content.decode()
    assert not StageAttempt.objects.filter(reset_of=attempt).exists()
    data = {"idempotency_key": key, "attempt": attempt.pk, "confirm": "on"}
    done = post_form(http, action, data)
    assert done.status_code == 302
    assert post_form(http, action, data).status_code == 302  # the double click
    fresh = StageAttempt.objects.get(reset_of=attempt)
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROP_RESET_FEE).count() == 1
    page = http.get(f"{MINE}{joined.pk}/").content.decode()
    assert "starts over on a new account" in page
    assert 'id="being-prepared"' in page
    carry_out_platform_commands()
    fresh.refresh_from_db()
    page = http.get(f"{MINE}{joined.pk}/").content.decode()
    assert f"<code data-login>{fresh.login}</code>" in page
    assert re.search(rf'data-attempt="{attempt.pk}">.*?>Reset</span>', page, re.S)
    assert retries.RESET_EXPLANATION in page


def test_a_reset_stage_is_said_once_in_the_stage_history(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    retries.reset(active_client, joined.pk)
    carry_out_platform_commands()
    page = logged_in(active_client.user).get(f"{MINE}{joined.pk}/").content.decode()
    history = page.split('id="stage-history"')[1].split("</table>")[0]
    assert history.count(retries.RESET_EXPLANATION) == 1  # its result, no "How ... decided"
    assert f'data-explanation-of="{attempt.pk}"' not in history


def test_a_reset_of_a_stage_reset_already_is_refused_on_the_page(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    retries.reset(active_client, joined.pk)
    carry_out_platform_commands()
    http = logged_in(active_client.user)
    response = post_form(
        http,
        f"{MINE}{joined.pk}/reset/",
        {"idempotency_key": "stale-page", "attempt": attempt.pk, "confirm": "on"},
    )
    assert response.status_code == 409
    assert "was reset already" in response.content.decode()
    assert JournalEntry.objects.filter(type=JournalEntry.Type.PROP_RESET_FEE).count() == 1


def test_no_reset_is_offered_without_an_offer(active_client, finance, admin):
    joined, _ = with_offers(active_client, finance, admin, reset=None, retry=None)
    page = logged_in(active_client.user).get(f"{MINE}{joined.pk}/").content.decode()
    assert 'id="reset"' not in page


# --- the API --------------------------------------------------------------------------------


def test_the_api_retries_once_per_failed_participation(active_client, register, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    shown = api.call("GET", f"/participations/{failed.pk}", token=token).json()
    assert shown["retry"] == {
        "fee": "99.00",
        "full_fee": "99.00",
        "currency": "USD",
        "discount_pct": None,
        "discount_until": None,
    }
    path = f"/participations/{failed.pk}/retry"
    first = api.call("POST", path, token=token, HTTP_IDEMPOTENCY_KEY="r1")
    again = api.call("POST", path, token=token, HTTP_IDEMPOTENCY_KEY="r1")
    assert first.status_code == again.status_code == 201, first.content
    made = first.json()
    assert again.json()["id"] == made["id"]
    assert (made["status"], made["retry_of"], made["fee"]) == ("active", failed.pk, "99.00")
    assert made["stages"][0]["stage"] == 1
    other_key = api.call("POST", path, token=token, HTTP_IDEMPOTENCY_KEY="r2")
    assert other_key.status_code == 409
    assert other_key.json()["code"] == "already_retried"
    assert other_key.json()["retry"] == made["id"]
    listed = {p["id"]: p for p in api.call("GET", "/participations", token=token).json()}
    assert listed[failed.pk]["retried_by"] == made["id"]
    assert listed[failed.pk]["retry"] is None
    assert ledger.balances(active_client) == {"USD": D("402.00")}
    other, _ = register(email="other@example.com")
    other_token = api.token(other.user.email, PASSWORD)
    assert api.call("POST", path, token=other_token).status_code == 404
    assert api.call("POST", "/participations/abc/retry", token=other_token).status_code == 404
    assert api.call("POST", path).status_code == 401


def test_the_api_retries_at_the_price_it_was_shown_or_not_at_all(active_client, finance, admin):
    offer = {"fee": "100", "discount_pct": "20", "discount_days": 3}
    failed, attempt = failed_with_offers(active_client, finance, admin, retry=offer)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    shown = api.call("GET", f"/participations/{failed.pk}", token=token).json()["retry"]
    assert shown["fee"] == "80.00"
    StageAttempt.objects.filter(pk=attempt.pk).update(
        ended_at=attempt.ended_at - timedelta(days=3, minutes=1)
    )
    path = f"/participations/{failed.pk}/retry"
    for wrong in ("eighty", "-80", "8e1", "9" * 5000):
        assert api.call("POST", f"{path}?fee={wrong}", token=token).status_code == 422, wrong
    late = api.call("POST", f"{path}?fee={shown['fee']}", token=token, HTTP_IDEMPOTENCY_KEY="p1")
    assert late.status_code == 409
    assert (late.json()["code"], late.json()["fee"]) == ("price_changed", "100.00")
    assert not Participation.objects.filter(retry_of=failed).exists()
    assert ledger.balances(active_client) == {"USD": D("501.00")}
    paid = api.call("POST", f"{path}?fee=100.00", token=token, HTTP_IDEMPOTENCY_KEY="p2")
    assert paid.status_code == 201, paid.content
    assert paid.json()["fee"] == "100.00"


def test_the_api_refuses_a_retry_with_a_hostile_key(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    path = f"/participations/{failed.pk}/retry"
    response = api.call("POST", path, token=token, HTTP_IDEMPOTENCY_KEY="k" * 101)
    assert response.status_code == 422
    assert not Participation.objects.filter(retry_of=failed).exists()


def test_the_api_resets_the_running_stage(active_client, finance, admin):
    joined, attempt = with_offers(active_client, finance, admin)
    api = Api()
    token = api.token(active_client.user.email, PASSWORD)
    shown = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    assert shown["reset"] == {"fee": "49.00", "currency": "USD"}
    assert shown["retry"] is None
    path = f"/participations/{joined.pk}/reset"
    unkeyed = api.call("POST", path, token=token)  # a repeatable call needs its key
    assert unkeyed.status_code == 422
    assert unkeyed.json()["fields"] == {"Idempotency-Key": "Required."}
    assert ledger.balances(active_client) == {"USD": D("501.00")}
    first = api.call("POST", path, token=token, HTTP_IDEMPOTENCY_KEY="z1")
    again = api.call("POST", path, token=token, HTTP_IDEMPOTENCY_KEY="z1")
    assert first.status_code == again.status_code == 200, first.content
    body = first.json()
    assert [s["reset"] for s in body["stages"]] == [True, False]
    assert body["credentials"]["being_prepared"] is True
    assert body["reset"] is None  # the new account is not open yet
    assert again.json()["stages"] == body["stages"]
    other = api.call("POST", path, token=token, HTTP_IDEMPOTENCY_KEY="z2")
    assert other.status_code == 409
    assert other.json()["code"] == "not_resettable"
    assert ledger.balances(active_client) == {"USD": D("452.00")}
    fresh = StageAttempt.objects.get(reset_of=attempt)
    carry_out_platform_commands()
    fresh.refresh_from_db()
    shown = api.call("GET", f"/participations/{joined.pk}", token=token).json()
    assert shown["credentials"]["login"] == fresh.login


# --- the back office ------------------------------------------------------------------------


def test_the_participant_page_tells_staff_of_the_retry_and_the_reset(active_client, finance, admin):
    failed, _ = failed_with_offers(active_client, finance, admin)
    made = retries.retry(active_client, failed.pk)
    carry_out_platform_commands()
    fresh = retries.reset(active_client, made.pk)
    http = logged_in(admin)
    old_page = http.get(f"/backoffice/prop-trading/participants/{failed.pk}/").content.decode()
    assert "Retried as" in old_page
    assert made.reference in old_page
    assert 'id="reinstate-form"' not in old_page  # retried: not reinstated as well
    page = http.get(f"/backoffice/prop-trading/participants/{made.pk}/").content.decode()
    assert re.search(rf'id="retry-of"><a [^>]*>{failed.reference}</a>', page)
    assert f'data-reset="{fresh.pk}">Stage 1 reset by the client' in page
    assert "for 49.00 USD" in page
    assert "Reset by the client for 49.00 USD." in page  # the stage history's note


def test_the_client_page_wallet_shows_both_fees_with_their_references(
    active_client, finance, admin
):
    failed, _ = failed_with_offers(active_client, finance, admin)
    made = retries.retry(active_client, failed.pk)
    carry_out_platform_commands()
    retries.reset(active_client, made.pk)
    page = logged_in(active_client.user).get("/portal/wallet/").content.decode()
    for label in ("Prop Retry Fee", "Prop Reset Fee"):
        assert re.search(rf'<td class="reference">{made.reference}</td><td>{label}</td>', page), (
            label
        )
