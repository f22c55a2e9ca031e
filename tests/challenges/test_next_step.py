"""The portal home's next step: one thing to do, decided from where the client stands
(participation.standing.decide), one case each, and the order between them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from propdesk.challenges.participation.standing import Do, Facts, Waiting, decide

SINCE = datetime(2026, 12, 4, 13, 5, tzinfo=UTC)
LIVE_STEP = Waiting(
    "Your live step in 2-Step 100K (stage 3: Funded) is under review", SINCE, "prop_live_step", 7
)
DEPOSIT = Waiting("Your deposit of 1000.00 USD is being reviewed", SINCE, "deposit")
KYC_WAIT = Waiting("Your identity check is being reviewed", SINCE, "kyc")

# A verified client who can pay a challenge from the wallet: the baseline each case changes.
READY = Facts(kyc_status="approved", wallet_can_pay=True)


def facts(**changes) -> Facts:
    return Facts(**{**READY.__dict__, **changes})


def test_a_client_who_can_pay_and_has_no_challenge_is_told_to_buy_their_first():
    step = decide(facts())
    assert step.do == Do.BUY
    assert step.title == "Buy your first challenge"
    assert step.url == "/portal/challenges/"


def test_after_a_finished_challenge_the_client_is_told_to_start_a_new_one():
    assert decide(facts(any_participation=True)).title == "Start a new challenge"


def test_a_stage_in_progress_means_trade_with_a_link_to_its_credentials():
    step = decide(facts(trading=((7, "2-Step 100K, stage 1 of 3 (Challenge)"),)))
    assert step.do == Do.TRADE
    assert "2-Step 100K, stage 1 of 3 (Challenge) is in progress" in step.text
    assert step.url == "/portal/my-challenges/7/"


def test_trading_comes_before_everything_else():
    step = decide(
        facts(
            trading=((7, "2-Step 100K, stage 2 of 3 (Verification)"),),
            kyc_status="rejected",
            kyc_blocks_join=True,
            waiting=(DEPOSIT,),
        )
    )
    assert step.do == Do.TRADE


@pytest.mark.parametrize(
    ("kyc_status", "do", "says"),
    [
        ("not_submitted", Do.VERIFY, "before they trade your challenge"),
        ("rejected", Do.RESUBMIT, "send it again to trade your challenge"),
        ("pending", Do.WAIT, "Your identity check is being reviewed"),
    ],
)
def test_a_running_stage_whose_trading_waits_for_kyc_means_the_identity_check_first(
    kyc_status, do, says
):
    step = decide(
        facts(
            trading=((7, "2-Step 100K, stage 1 of 3 (Challenge)"),),
            kyc_status=kyc_status,
            kyc_blocks_trade=True,
        )
    )
    assert step.do == do
    assert says in step.text


def test_a_verified_client_trades_whatever_the_policy_blocks():
    step = decide(
        facts(trading=((7, "2-Step 100K, stage 1 of 3 (Challenge)"),), kyc_blocks_trade=True)
    )
    assert step.do == Do.TRADE


def test_an_unpaid_direct_purchase_means_pay_it():
    step = decide(facts(unpaid=((9, "2-Step 100K"),)))
    assert (step.do, step.url, step.action) == (Do.PAY, "/portal/my-challenges/9/", "Pay now")


def test_a_live_step_under_review_means_wait_saying_what_and_since_when():
    step = decide(facts(waiting=(LIVE_STEP,)))
    assert step.do == Do.WAIT
    assert step.text.startswith(
        "Your live step in 2-Step 100K (stage 3: Funded) is under review, since 2026-12-04 13:05"
    )
    assert step.since == SINCE
    assert step.url == "/portal/my-challenges/7/"


def test_verify_identity_when_the_policy_blocks_joining_and_kyc_was_never_sent():
    step = decide(facts(kyc_status="not_submitted", kyc_blocks_join=True))
    assert (step.do, step.url) == (Do.VERIFY, "/portal/kyc/")


def test_resubmit_after_a_rejected_kyc_with_the_reason():
    step = decide(facts(kyc_status="rejected", kyc_blocks_join=True, kyc_reason="blurred scan"))
    assert step.do == Do.RESUBMIT
    assert "not approved (blurred scan)" in step.text


def test_a_kyc_under_review_that_blocks_joining_means_wait_for_it():
    step = decide(
        facts(kyc_status="pending", kyc_blocks_join=True, waiting=(KYC_WAIT,), kyc_since=SINCE)
    )
    assert step.do == Do.WAIT
    assert step.text.startswith("Your identity check is being reviewed, since 2026-12-04 13:05")


def test_kyc_is_not_asked_for_when_the_policy_blocks_nothing_the_client_needs():
    assert decide(facts(kyc_status="not_submitted")).do == Do.BUY
    # Deposits blocked, but the wallet already pays a fee: no deposit is needed.
    assert decide(facts(kyc_status="not_submitted", kyc_blocks_deposit=True)).do == Do.BUY


def test_a_deposit_blocked_by_kyc_is_needed_first_so_verify():
    step = decide(facts(kyc_status="not_submitted", kyc_blocks_deposit=True, wallet_can_pay=False))
    assert step.do == Do.VERIFY


def test_an_empty_wallet_means_deposit_when_fees_are_paid_from_the_wallet():
    step = decide(facts(wallet_can_pay=False))
    assert (step.do, step.url) == (Do.DEPOSIT, "/portal/wallet/deposit/")


def test_an_empty_wallet_is_no_obstacle_when_a_challenge_can_be_bought_by_card():
    step = decide(facts(wallet_can_pay=False, direct_purchase=True))
    assert step.do == Do.BUY
    assert step.text.endswith("by card.")


def test_a_pending_deposit_the_client_needs_means_wait_for_it():
    step = decide(facts(wallet_can_pay=False, waiting=(DEPOSIT,)))
    assert step.do == Do.WAIT
    assert step.text.startswith("Your deposit of 1000.00 USD is being reviewed, since")


def test_no_published_challenge_means_wait_for_one():
    step = decide(facts(offered=False, wallet_can_pay=False))
    assert step.do == Do.WAIT
    assert step.title == "No challenge is open right now"
    assert step.url == ""


@pytest.mark.parametrize(
    ("status", "title"),
    [("pending_approval", "Waiting for us"), ("suspended", "Your account is on hold")],
)
def test_an_account_not_active_can_only_wait(status, title):
    step = decide(facts(client_status=status, trading=((7, "x"),)))
    assert (step.do, step.title) == (Do.WAIT, title)


def test_a_pending_deposit_is_waited_for_even_when_a_card_could_pay():
    step = decide(facts(wallet_can_pay=False, direct_purchase=True, waiting=(DEPOSIT,)))
    assert step.do == Do.WAIT
    assert "deposit" in step.text
