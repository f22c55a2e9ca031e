"""The back-off between attempts: doubling from the first delay, capped, jittered."""

from __future__ import annotations

import pytest

from propdesk.jobs import retries
from propdesk.jobs.retries import RetryPolicy
from tests.jobs import factories

POLICY = RetryPolicy(max_attempts=8, first_delay=30, max_delay=3600)


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 30), (2, 60), (3, 120), (4, 240), (7, 1920), (8, 3600), (9, 3600), (500, 3600)],
)
def test_the_wait_doubles_up_to_the_cap(attempt, ceiling):
    assert POLICY.delay(attempt, rand=lambda: 1.0) == ceiling


def test_jitter_takes_off_at_most_half_of_the_wait():
    assert POLICY.delay(3, rand=lambda: 0.0) == 60
    assert POLICY.delay(3, rand=lambda: 0.5) == 90


def test_the_firm_sets_the_defaults(settings):
    settings.JOBS_MAX_ATTEMPTS, settings.JOBS_RETRY_SECONDS = 5, 10
    settings.JOBS_RETRY_MAX_SECONDS = 100
    assert retries.default_policy() == RetryPolicy(max_attempts=5, first_delay=10, max_delay=100)


def test_a_job_overrides_what_it_names_and_keeps_the_rest(settings):
    settings.JOBS_MAX_ATTEMPTS, settings.JOBS_RETRY_SECONDS = 8, 30
    own = retries.policy_for(factories.always_fails.module_path)
    assert own == RetryPolicy(max_attempts=2, first_delay=5, max_delay=5)
    plain = retries.policy_for(factories.add.module_path)
    assert plain == retries.default_policy()


def test_the_webhook_delivery_keeps_trying_through_a_night(settings):
    from propdesk.wallet.sandbox_payments import deliver_webhook

    policy = retries.policy_for(deliver_webhook.module_path)
    shortest = sum(policy.delay(n, rand=lambda: 0.0) for n in range(1, policy.max_attempts))
    assert shortest >= 6 * 3600
