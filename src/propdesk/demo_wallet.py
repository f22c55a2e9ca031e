"""The demo's money: the payment methods (a bank transfer paying withdrawals to bank accounts,
the sandbox card for deposits only, USDT paying to crypto wallets), the opening balances, a
deposit waiting for Finance, and a withdrawal waiting to be paid to Ivan's bank account."""

from __future__ import annotations

from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.wallet import deposits, withdrawals
from propdesk.wallet import services as wallet_services
from propdesk.wallet.models import PaymentMethod


def seed_payment_methods(admin: User, finance: User) -> PaymentMethod:
    """The three methods and the opening balances; the bank transfer is returned."""
    bank = deposits.save_payment_method(
        None,
        name="Bank transfer",
        kind="offline",
        currencies=["USD", "EUR"],
        min_amount="50",
        max_amount="100000",
        instructions="A demo account: no real money moves.",
        bank_beneficiary="Propdesk Demo s.r.o.",
        bank_account="CZ65 0800 0000 1920 0014 5399",
        bank_bic="GIBACZPX",
        bank_name="Demo Bank",
        payout_to="bank",
        actor=admin,
    )
    for email, amount in (("ivan@example.com", "2500.00"), ("alice@example.com", "150.00")):
        wallet_services.adjust(
            Client.objects.get(user__email=email).pk,
            direction="credit",
            amount=amount,
            currency="USD",
            comment="Opening balance moved from the old CRM",
            actor=finance,
        )
    deposits.save_payment_method(
        None,
        name="Card (sandbox)",
        kind="online",
        provider="sandbox",
        currencies=["USD", "EUR"],
        min_amount="10",
        max_amount="5000",
        instructions="The sandbox provider's checkout: press Pay, no real money moves.",
        actor=admin,
    )
    deposits.save_payment_method(
        None,
        name="USDT (crypto)",
        kind="offline",
        currencies=["USD"],
        min_amount="20",
        max_amount="50000",
        instructions="A demo: no coins move. Withdrawals are paid in USDT on the network you "
        "choose; write to us for an address to deposit to.",
        payout_to="crypto",
        networks=["ERC20", "TRC20"],
        actor=admin,
    )
    approvals.set_policy(deposits.DEPOSIT, method="partial", threshold="500", actor=admin)
    return bank


def seed_withdrawal(bank: PaymentMethod) -> None:
    """Ivan asks for 250 USD to his bank account: Finance finds it in Approvals > Withdrawal,
    with the account to pay."""
    withdrawals.request_withdrawal(
        Client.objects.get(user__email="ivan@example.com"),
        method=bank.pk,
        amount="250.00",
        currency="USD",
        destination={
            "account_holder": "Ivan Ibsen",
            "account": "NO93 8601 1117 947",
            "bic": "DEMONOKK",
            "bank_name": "Demo Sparebank",
        },
        idempotency_key="demo",
    )
