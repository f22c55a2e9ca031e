"""A stage account's deals as its trading platform has them (the platform's own history, not
our event log): staff read them on the participant page, the trader under *My challenges* >
Trades.

The platform is asked when a page wants them: over the network for a remote platform (which
gives up after its timeout, MATCH_TRADER_TIMEOUT) or in the sandbox's own tables. The caller
asks outside any transaction of ours (a page's view holds none), so a slow platform holds no
lock; one that refuses, fails or does not answer in time leaves the page a sentence saying so,
never an error page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from propdesk.challenges.models import StageAttempt
from propdesk.core.errors import DomainError
from propdesk.platforms import adapters
from propdesk.platforms.protocol import DealRecord, PlatformError


@dataclass(frozen=True)
class TradeHistory:
    deals: list[DealRecord] = field(default_factory=list)  # newest first
    # Why the platform could not be read, as staff may read it ("" when it was read). The
    # trader is told only that the history is unavailable right now.
    unavailable: str = ""


def read(attempt: StageAttempt | None) -> TradeHistory:
    """The deals of the stage's account, newest first; none before its account is opened."""
    if attempt is None or not attempt.login:
        return TradeHistory()
    try:
        found = adapters.platform(attempt.server).trade_history(attempt.login)
    except DomainError as exc:
        return TradeHistory(unavailable=f"The trading platform did not answer: {exc.message}")
    except PlatformError as exc:
        return TradeHistory(unavailable=f"The trading platform did not answer: {exc}")
    # Deal ids are the platform's text: a number sorts as a number ("10" after "9").
    return TradeHistory(
        deals=sorted(found, key=lambda d: (d.at, _deal_order(d.deal)), reverse=True)
    )


def _deal_order(deal: str) -> tuple[int, int, str]:
    return (1, int(deal), "") if deal.isdigit() else (0, 0, deal)
