"""A stage's trading account, through the platform outbox: what the challenge asks of the
platform (open the account, set its access, close its positions) is written as commands in the
transaction that decided it, and carried out after it commits (platforms.outbox). A stage whose
account is being opened has no login yet: the trader reads "your account is being prepared",
staff see the command on Trading > Platform commands.

What access a stage's account should have follows from the stage alone (`access_for`): full
while it runs, close-only while its rules pause it, and after its end no new positions (close
only when its challenge leaves the open positions to the trader, no trading once they are all
closed by the firm). A suspended client's accounts have no login at all.
"""

from __future__ import annotations

from django.db.models import Q

from propdesk.accounts.models import Client
from propdesk.challenges.catalogue.definition import OnBreach
from propdesk.challenges.models import Participation, StageAttempt
from propdesk.challenges.monitoring import checkpoints
from propdesk.core import vault
from propdesk.platforms import feeds, outbox
from propdesk.platforms.models import PlatformCommand
from propdesk.platforms.protocol import Access, AccountOwner, Credentials

OPENED = "challenges.stage_account_opened"


def open_account(attempt: StageAttempt, participation: Participation) -> PlatformCommand:
    """Ask the challenge's platform for the stage's account, with its balance and leverage."""
    definition = participation.version.spec
    stage = definition.stages[attempt.stage]
    client = participation.client
    user = client.user
    first, _, last = user.name.partition(" ")
    return outbox.open_account(
        attempt.server,
        subject=attempt.subject,
        group=stage.group,
        leverage=stage.leverage,
        balance=stage.balance,
        currency=definition.currency,
        owner=AccountOwner(
            email=user.email, first_name=first, last_name=last, country=str(client.nationality)
        ),
        comment=f"Participation {participation.reference}, stage {attempt.stage + 1}",
        then=OPENED,
    )


def account_opened(command: PlatformCommand, credentials: Credentials | None) -> None:
    """The outbox's hook: the stage learns its login and password. A platform that keeps one
    password per user (Match-Trader) gives none for its user's next account: the password
    shown for the client's earlier account on that server still opens it. Its trader is told
    the account is ready (`participation.approved`)."""
    assert credentials is not None
    attempt_id = int(command.subject.removeprefix("stage:"))
    # The monitor's order: the checkpoint of the feed the account falls in, then the stage.
    checkpoints.lock(feeds.feed_key_for(command.server_id, credentials.login))
    attempt = StageAttempt.objects.select_for_update().filter(pk=attempt_id).first()
    if attempt is None or attempt.login:
        return
    sealed = (
        vault.seal(credentials.password) if credentials.password else _earlier_password(attempt)
    )
    attempt.login, attempt.sealed_password = credentials.login, sealed
    attempt.save(update_fields=["login", "sealed_password"])
    checkpoints.changed(attempt)  # the monitor reading its feed takes it up at once
    # Once: a retried command finds the login kept and returns above.
    from propdesk.challenges.participation import notices  # it builds on lifecycle, on this

    notices.account_ready(attempt, credentials)


def _earlier_password(attempt: StageAttempt) -> str:
    earlier = (
        StageAttempt.objects.filter(
            participation__client_id=attempt.participation.client_id, server=attempt.server_id
        )
        .exclude(Q(pk=attempt.pk) | Q(sealed_password=""))
        .order_by("-id")
        .values_list("sealed_password", flat=True)
        .first()
    )
    return earlier or ""


def client_suspended(client_id: int) -> bool:
    """Whether the client is suspended, read afresh (a suspension committed while the caller
    waited for a lock counts)."""
    status = Client.objects.filter(pk=client_id).values_list("status", flat=True).first()
    return status == Client.Status.SUSPENDED


def access_for(attempt: StageAttempt, on_breach: OnBreach | str = OnBreach.LEAVE) -> Access:
    """The access the stage's account should have now (the client being active)."""
    if attempt.status == StageAttempt.Status.IN_PROGRESS:
        return Access.CLOSE_ONLY if attempt.paused else Access.FULL
    return Access.NO_TRADING if on_breach == OnBreach.CLOSE else Access.CLOSE_ONLY


def set_access(attempt: StageAttempt, access: Access, *, reason: str = "") -> None:
    outbox.set_access(
        attempt.server, subject=attempt.subject, access=access, reason=reason, login=attempt.login
    )


def end(attempt: StageAttempt, on_breach: OnBreach | str, *, reason: str) -> None:
    """The stage ended (a verdict, staff): no new positions; the open ones closed by the firm
    when its challenge says so. A suspended client's account keeps no login (staff may cancel
    their challenge meanwhile); reactivating them gives it the access of its ended stage."""
    suspended = client_suspended(attempt.participation.client_id)
    access = Access.NO_LOGIN if suspended else access_for(attempt, on_breach)
    set_access(attempt, access, reason=reason)
    if on_breach == OnBreach.CLOSE:
        outbox.close_positions(
            attempt.server, subject=attempt.subject, reason=reason, login=attempt.login
        )


def being_prepared(attempt: StageAttempt) -> PlatformCommand | None:
    """The opening command of a stage whose account is not open yet (None once it is)."""
    if attempt.login:
        return None
    return (
        PlatformCommand.objects.filter(
            server_id=attempt.server_id,
            subject=attempt.subject,
            kind=PlatformCommand.Kind.OPEN_ACCOUNT,
        )
        .order_by("id")
        .first()
    )
