"""A faithful fake of Match-Trader's Broker API v2, for the tests and the demo
(`propdesk fake-platform match-trader --port N`).

It is a vendor's server, not part of propdesk: standard library only, no Django, no propdesk
import outside this package. What it answers follows the documentation (read in 2026):

- Introduction, base rules (UTC, RFC 3339 times with milliseconds):
  https://app.theneo.io/match-trade/broker-api-v2/introduction
- The request limit, 500 requests a minute (the older Broker API's introduction; v2 speaks of
  a default without a number we could read): https://app.theneo.io/match-trade/broker-api/introduction
- Authentication, the `Authorization` header with the broker's key (with or without "Bearer "):
  https://app.theneo.io/match-trade/broker-api/introduction/crm-integration/step-by-step
- Errors, a body of status, title, detail, path, timestamp (some v2 pages add `type`):
  https://app.theneo.io/match-trade/broker-api-v2/trading-accounts/update-trading-account
  https://app.theneo.io/match-trade/broker-api-v2/trading/reopen-position
- User accounts (create with email and password; find by email; change password):
  https://app.theneo.io/match-trade/broker-api-v2/user-accounts
  https://app.theneo.io/match-trade/broker-api-v2/user-accounts/create-user-account
  https://app.theneo.io/match-trade/broker-api-v2/user-accounts/get-user-account-by-email
- Trading accounts (create in a group with leverageRatioPercent, accountType, accessRight,
  accountDetails, remarks; list paged by group and access rights; update with `version`,
  optimistic locking: without it a validation error, stale it is refused):
  https://app.theneo.io/match-trade/broker-api-v2/trading-accounts
  https://app.theneo.io/match-trade/broker-api-v2/trading-accounts/create-trading-account
  https://app.theneo.io/match-trade/broker-api-v2/trading-accounts/get-trading-accounts
  https://app.theneo.io/match-trade/broker-api-v2/trading-accounts/get-trading-account-by-uuid
  https://app.theneo.io/match-trade/broker-api-v2/trading-accounts/update-trading-account
- Balance operations (deposit, withdraw, credit-in, credit-out; amount, comment and
  additionalType; 204), each an entry of the account's ledger (DEPOSIT, WITHDRAWAL, CREDIT_IN,
  CREDIT_OUT) with its type, additionalType, time, signed profit, comment and login:
  https://app.theneo.io/match-trade/broker-api-v2/balance-operations
  https://app.theneo.io/match-trade/broker-api-v2/balance-operations/deposit
  https://app.theneo.io/match-trade/broker-api/grpc/ledgers/ledgers-by-login  (an entry's fields)
- Trading (open, close, close-partially, close-all; acknowledgements, not fills):
  https://app.theneo.io/match-trade/broker-api-v2/trading
  https://app.theneo.io/match-trade/broker-api-v2/trading/open-position
  https://app.theneo.io/match-trade/broker-api-v2/trading/close-positions
  https://app.theneo.io/match-trade/broker-api-v2/trading/close-all-positions
- Open and closed positions, ledgers and their fields (the older pages, v2 being silent):
  https://app.theneo.io/match-trade/broker-api/trading/trading-data/closed-positions-by-logins-or-groups
  https://app.theneo.io/match-trade/broker-api/trading/trading-data/ledgers
  https://app.theneo.io/match-trade/broker-api/trading/trading-data/ledgers-by-logins-or-groups
  https://app.theneo.io/match-trade/broker-api/accounts/trading-accounts/logins  (financeInfo)
- Offers, pre-configured and never created through the API, each tied to a group:
  https://app.theneo.io/match-trade/broker-api/branches-offers-roles/get-offers
  https://app.theneo.io/match-trade/broker-api/introduction/crm-integration/architecture

Where the documentation is silent the fake chooses, and says so where it does (a stale
`version` is a 409; close-all's per-login answer; closed positions carry no login; the ledger
answers `{"operations": [...]}` for all the logins asked, each entry naming its login, with an
`id`; a withdrawal's `profit` is negative; 429s carry `Retry-After`).

NOT part of Match-Trader's API, the fake-only controls under `/_fake/` (no key, no limit):

    POST /_fake/price            {"symbol", "bid"}            a tick now
    GET  /_fake/prices                                        every bid and ask
    POST /_fake/positions/open   {"login", "symbol", "side", "volume", "price"?}   as the trader
    POST /_fake/positions/close  {"login", "positionId", "volume"?, "price"?}       as the trader
    POST /_fake/fail             {"count", "status"?=500, "method"?, "path"?}
                                 the next N API requests (of that method, path matching the
                                 pattern) are answered with that status
    POST /_fake/delay            {"count", "seconds", "method"?, "path"?}
                                 the next N such requests wait first (and are carried out)
    POST /_fake/down             {"seconds"}                  stop listening for a while
    POST /_fake/reset                                         forget every account
    GET  /_fake/access-log?login=L                            each access change, timed
    GET  /_fake/settle                                        wait until no request is in flight
"""

from propdesk.platforms.matchtrader.fake.basics import DEFAULT_OFFERS, Offer
from propdesk.platforms.matchtrader.fake.server import DEFAULT_API_KEY, FakeMatchTrader

__all__ = ["DEFAULT_API_KEY", "DEFAULT_OFFERS", "FakeMatchTrader", "Offer"]
