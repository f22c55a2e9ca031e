from __future__ import annotations

import pytest

from propdesk.accounts.models import Client, User
from propdesk.approvals.models import ApprovalRequest
from propdesk.demo import seed_demo

pytestmark = pytest.mark.django_db


def test_demo_seeds_staff_per_role_clients_in_each_state_and_a_living_queue():
    logins = seed_demo()
    roles = {role for _, _, role in logins.staff}
    assert roles == {"Administrator", "Compliance", "Finance", "Support"}
    for email, password, _ in logins.staff + logins.clients:
        assert User.objects.get(email=email).check_password(password)
    statuses = set(Client.objects.values_list("status", flat=True))
    assert statuses == {"active", "pending_approval", "rejected", "suspended"}
    pending = ApprovalRequest.objects.filter(status="pending")
    assert pending.filter(type_key="trader_registration").exists()
    assert pending.filter(type_key="ib_registration", current_level=2).exists()
    assert pending.filter(type_key="kyc").exists()
    assert pending.filter(type_key="deposit").exists()
    kyc_states = set(Client.objects.values_list("kyc_status", flat=True))
    assert {"approved", "pending", "not_submitted"} <= kyc_states


def test_demo_seeding_twice_changes_nothing():
    seed_demo()
    counts = (User.objects.count(), ApprovalRequest.objects.count())
    seed_demo()
    assert (User.objects.count(), ApprovalRequest.objects.count()) == counts


def test_demo_books_balance():
    from propdesk.wallet import ledger

    seed_demo()
    assert ledger.check() == []
    ivan = Client.objects.get(user__email="ivan@example.com")
    assert ledger.balances(ivan)["USD"] > 0


def test_demo_trading_accounts_open_the_terminal_with_their_printed_password():
    from propdesk.platforms.sandbox import accounts, auth, valuation

    logins = seed_demo()
    assert len(logins.trading) == 2
    for login, password, _ in logins.trading:
        account = auth.authenticate(login, password)
        assert account.group == "demo"
    busy = accounts.account_by_login(logins.trading[0][0])
    assert len(valuation.state(busy).positions) == 2


def test_demo_publishes_two_challenges_and_has_participants_in_every_state():
    from propdesk.challenges.catalogue import services as catalogue
    from propdesk.challenges.models import Participation, StageAttempt

    seed_demo()
    names = sorted(v.definition["name"] for v in catalogue.published_catalogue())
    assert names == ["2-Step Challenge 100K", "Instant Funding 25K"]
    ivans = Participation.objects.get(client__user__email="ivan@example.com")
    assert ivans.status == "active"
    statuses = set(Participation.objects.values_list("status", flat=True))
    # Passed needs a last stage that is a demo one; both demo challenges end funded (live).
    assert statuses == {
        "pending_payment",
        "pending_approval",
        "active",
        "failed",
        "rejected",
        "cancelled",
    }
    failed = StageAttempt.objects.get(status="failed")
    assert failed.verdict["rule"] == "max_daily_loss"  # the monitor's own verdict
    assert "daily" in failed.explanation
    assert StageAttempt.objects.filter(stage=1, status="in_progress").exists()  # verification
    assert StageAttempt.objects.filter(kind="live", status="in_progress").exists()  # funded
    pending = ApprovalRequest.objects.filter(status="pending")
    assert pending.filter(type_key="prop_participation").exists()
    assert pending.filter(type_key="prop_live_step").exists()


def test_demo_staff_log_in_with_their_printed_password_alone():
    """Two-factor login is the firm's choice: the demo requires it of no role."""
    from django.test import Client as HttpClient

    from tests.conftest import post_form

    logins = seed_demo()
    for email, password, _ in logins.staff:
        http = HttpClient(enforce_csrf_checks=True)
        response = post_form(http, "/login/", {"email": email, "password": password})
        assert response["Location"] == "/backoffice/", email
        assert http.get("/backoffice/").status_code == 200


def test_demo_kyc_documents_are_kept_and_handed_to_the_compliance_officer():
    import hashlib

    from propdesk.onboarding.models import KycDocument
    from tests.conftest import logged_in

    seed_demo()
    http = logged_in(User.objects.get(email="compliance@propdesk.demo"))
    kept = KycDocument.objects.all()
    assert {d.content_type for d in kept} == {"image/png", "application/pdf"}
    for document in kept:
        response = http.get(f"/documents/kyc/{document.token}/")
        assert response.status_code == 200
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == document.sha256
