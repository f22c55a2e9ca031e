"""The sandbox behind the trading-platform protocol."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from propdesk.core.errors import NotFound
from propdesk.platforms.models import TradingServer
from propdesk.platforms.protocol import (
    Access,
    AccountOwner,
    AccountState,
    Credentials,
    DealRecord,
)
from propdesk.platforms.sandbox import accounts, orders, valuation
from propdesk.platforms.sandbox.ingestor import SandboxIngestor
from propdesk.platforms.sandbox.models import Account, Deal


class SandboxPlatform:
    def __init__(self, server: TradingServer) -> None:
        self.server = server

    def _account(self, login: str) -> Account:
        account = Account.objects.filter(login=login, server=self.server).first()
        if account is None:
            raise NotFound(f"No account {login} on {self.server.name}.")
        return account

    def create_account(
        self,
        *,
        group: str,
        leverage: int,
        balance: Decimal,
        currency: str,
        key: str,
        owner: AccountOwner | None = None,
        comment: str = "",
    ) -> Credentials:
        account, password = accounts.create_account(
            self.server,
            group=group,
            leverage=leverage,
            balance=balance,
            currency=currency,
            comment=comment,
            key=key,
        )
        return Credentials(login=account.login, password=password, server=self.server.name)

    def set_access(self, login: str, access: Access, *, reason: str = "") -> None:
        accounts.set_access(self._account(login), Access(access).value, reason=reason)

    def balance_operation(
        self, login: str, amount: Decimal, comment: str, *, key: str
    ) -> DealRecord:
        deal, _ = accounts.balance_operation_once(
            self._account(login), amount, comment, idempotency_key=f"outbox:{key}"
        )
        return record(deal)

    def close_positions(self, login: str, *, reason: str = "") -> int:
        return orders.close_all(self._account(login))

    def check_connection(self) -> str:
        count = Account.objects.filter(server=self.server).count()
        return f"The built-in sandbox answers: {count} account(s) on {self.server.name}."

    def account_state(self, login: str) -> AccountState:
        return valuation.state(self._account(login))

    def trade_history(self, login: str) -> Sequence[DealRecord]:
        return [record(d) for d in accounts.history(self._account(login))]

    def ingestor(self) -> SandboxIngestor:
        return SandboxIngestor(self.server)


def record(deal: Deal) -> DealRecord:
    return DealRecord(
        deal=str(deal.pk),
        at=deal.at,
        kind=deal.kind,
        entry=deal.entry,
        position=str(deal.position_id or ""),
        symbol=deal.symbol,
        volume=deal.volume,
        price=deal.price,
        profit=deal.profit,
        comment=deal.comment,
    )
