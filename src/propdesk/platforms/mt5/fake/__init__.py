"""A fake MetaTrader 5 server speaking the MT5 Web API, for the tests and the demo
(`propdesk fake-platform mt5 --port N`).

It plays the vendor: standard library only, no Django; its one propdesk import is the
Match-Trader fake's market (`matchtrader.fake.market`, standard library too), so both fakes'
prices walk the same way. What it answers follows the Web API as its clients use it (read in
2026); MetaQuotes' own reference pages were not within reach of the reference store, so the
pages below are the public clients and models that show the same requests:

- The handshake, `GET /api/auth/start?version=&agent=&login=&type=manager` answering
  `srv_rand`, then `GET /api/auth/answer?srv_rand_answer=&cli_rand=` answering
  `cli_rand_answer`; each answer is MD5(password_hash + the other side's random bytes) with
  password_hash = MD5(MD5(password as UTF-16LE) + "WebAPI"):
  https://app.unpkg.com/mt5-sdk@1.0.7/files/lib/auth.js
  https://app.unpkg.com/mt5-sdk@1.0.7/files/index.js  (one connection per client)
- Users: `/api/user/add` (a JSON user record, `pass_main` and `pass_investor` in the query),
  `/api/user/get?login=`, `/api/user/update`, `/api/user/check_password`:
  https://app.unpkg.com/mt5-sdk@1.0.2/files/lib/users.js
  https://packagist.org/packages/alisafirzadeh/php-mt5  (user add in a group with leverage)
- Rights, the bits of IMTUser's `Rights` (enabled, trade disabled, expert, reports...):
  https://docs.rs/deriv-api-schema/latest/deriv_api_schema/struct.Rights.html
- Balance operations, `/api/trade/balance?login=&type=2&balance=&comment=` (DEAL_BALANCE), the
  deal it makes and its `ticket`:
  https://packagist.org/packages/julioortahdz/php-mt5
- Deals (`Deal`, `Action` 0 buy 1 sell 2 balance 3 credit, `Entry` 0 in 1 out, `Profit`,
  `Comment`, `PositionID`) and positions (`Position`, `Action`, `Volume`, `PriceOpen`):
  https://www.mintlify.com/dev4traders/mt5-manager-api/api/models/deal
  https://www.mintlify.com/dev4traders/mt5-manager-api/api/models/position
- Every answer carries `retcode`, its code and its text ("0 Done", "3 Invalid parameters",
  "13 Not found"...), and the data in `answer`.

Where those pages are silent the fake chooses, and says so where it does: the session is a
cookie (`MT5WebAPI`) rather than the kept-alive connection, and ends after SESSION_IDLE seconds
without a request or when the server goes down; a request without a session is answered 403
with "8 Not enough permissions"; a wrong login or password is "3006 Invalid account"; more than
RATE_LIMIT requests a second on one session are "12 Too frequent requests"; comments are cut at
32 characters by refusing longer ones ("3 Invalid parameters"); numbers are strings; volumes
are in 1/10000 lot; times in `Time` (seconds) and `TimeMsc` (milliseconds); closing a position
as the manager is a dealer request (`/api/dealer/send_request` with Action 200,
TA_DEALER_POS_EXECUTE, and `Position`), carried out at once, its result read with
`/api/dealer/get_request_result?id=`; MT5 has no "close only" right for a user.

NOT part of the Web API, the fake-only controls under `/_fake/` (no session, no limit):

    POST /_fake/price            {"symbol", "bid"}            a tick now
    GET  /_fake/prices                                        every bid
    POST /_fake/positions/open   {"login", "symbol", "side", "volume", "price"?}  as the trader
    POST /_fake/positions/close  {"login", "position", "volume"?, "price"?}       as the trader
    POST /_fake/fail             {"count", "status"?=500, "path"?}  the next N API requests
    POST /_fake/delay            {"count", "seconds", "path"?}      wait first (then carried out)
    POST /_fake/down             {"seconds"}                  stop listening (sessions end)
    POST /_fake/expire-sessions                               every session ends now
    POST /_fake/reset                                         forget every account
    GET  /_fake/access-log?login=L                            each change of rights, timed
    GET  /_fake/requests                                      every API path asked, in order
    GET  /_fake/settle                                        wait until no request is in flight
"""

from propdesk.platforms.mt5.fake.book import (
    DEFAULT_GROUPS,
    USER_RIGHT_ENABLED,
    USER_RIGHT_TRADE_DISABLED,
    Group,
)
from propdesk.platforms.mt5.fake.server import DEFAULT_LOGIN, DEFAULT_PASSWORD, FakeMT5

__all__ = [
    "DEFAULT_GROUPS",
    "DEFAULT_LOGIN",
    "DEFAULT_PASSWORD",
    "USER_RIGHT_ENABLED",
    "USER_RIGHT_TRADE_DISABLED",
    "FakeMT5",
    "Group",
]
