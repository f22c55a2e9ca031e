"""The monitor's lock order on PostgreSQL: the feeds' checkpoint rows are taken before any
stage or participation, by staff, the suspensions and the stages' openings alike."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from propdesk.accounts import services as accounts
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.participation import lifecycle
from tests.challenges.factories import running, stage
from tests.support import carry_out_platform_commands

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_a_stage_opening_for_a_suspended_client_does_not_deadlock_with_the_reactivation(
    active_client, finance, admin
):
    """An opening holds the participation's lock and holds the new stage (the client is
    suspended); the reactivation takes the feeds' checkpoints, then the stages, then the
    participations. Holding the new stage may not wait for a checkpoint row after the
    participation's lock, or the two wait for each other (PostgreSQL ends one with a
    deadlock)."""
    joined, _ = running(active_client, finance, admin, stages=[stage(), stage(), stage()])
    accounts.set_client_suspended(
        active_client.pk, suspended=True, actor=admin, reason="Documents under review"
    )
    carry_out_platform_commands()
    opening_locked = threading.Event()
    reactivating = threading.Event()
    failures: list[BaseException] = []

    def opening() -> None:
        try:
            with transaction.atomic():
                # An approval's or the monitor's opening: the participation first, as
                # open_stage takes it (and the approval's request before it).
                Participation.objects.select_for_update().get(pk=joined.pk)
                opening_locked.set()
                reactivating.wait(10)
                time.sleep(0.3)  # the reactivation holds the checkpoints and waits for us
                lifecycle.open_stage(joined, 1)
        except BaseException as exc:  # noqa: BLE001  (what the thread met, for the assert)
            failures.append(exc)
        finally:
            connection.close()

    def reactivation() -> None:
        try:
            opening_locked.wait(10)
            reactivating.set()
            accounts.set_client_suspended(active_client.pk, suspended=False, actor=admin)
        except BaseException as exc:  # noqa: BLE001
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=opening), threading.Thread(target=reactivation)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert failures == []
    opened = StageAttempt.objects.get(participation=joined, stage=1)
    # Opened held (the client was suspended then), and released by the reactivation, which
    # reads the stages again once it has the participation's lock.
    assert opened.status == "in_progress"
    assert opened.held_after is None
