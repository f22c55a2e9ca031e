"""The events propdesk tells clients (and webhooks) about, with their default wording in English;
the translations are in the catalogue (src/propdesk/locale). Placeholders: `{{ name }}`; the
samples fill the preview in *Settings > Notifications*."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from propdesk.notifications.events import INFO, SUCCESS, WARNING, EventSpec, define

# Sample values: amounts as Decimal, so the preview writes them as the language does.

ACCOUNT = _("Account")
MONEY = _("Money")
CHALLENGE = _("Challenge")

define(
    EventSpec(
        "registration.approved",
        _("Registration approved"),
        ACCOUNT,
        _("Welcome to {{ firm_name }}: your registration was approved"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your registration (reference {{ reference }}) was approved. You can log "
            "in to the portal and buy your first challenge:\n"
            "{{ portal_url }}\n"
            "\n"
            "{{ message }}"
        ),
        SUCCESS,
        {"reference": "REG-1042"},
    )
)

define(
    EventSpec(
        "registration.rejected",
        _("Registration rejected"),
        ACCOUNT,
        _("Your registration was not approved"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your registration (reference {{ reference }}) was not approved.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {"reference": "REG-1042", "reason": _("The name does not match the identity document.")},
    )
)

define(
    EventSpec(
        "client.suspended",
        _("Account suspended"),
        ACCOUNT,
        _("Your account is suspended"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your account with {{ firm_name }} is suspended.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "Until the firm reactivates your account you cannot log in, and your trading "
            "accounts cannot log in (so nobody trades on them); your challenges are on hold."
        ),
        WARNING,
        {"reason": _("We need to check a payment with you.")},
    )
)

define(
    EventSpec(
        "client.reactivated",
        _("Account reactivated"),
        ACCOUNT,
        _("Your account is active again"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "you can log in again, and your trading accounts and challenges are open again:\n"
            "{{ portal_url }}"
        ),
        SUCCESS,
        {},
    )
)

define(
    EventSpec(
        "kyc.approved",
        _("Identity verified"),
        ACCOUNT,
        _("Your identity is verified"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your identity check (reference {{ reference }}) was approved.\n"
            "\n"
            "{{ message }}"
        ),
        SUCCESS,
        {"reference": "KYC-311"},
    )
)

define(
    EventSpec(
        "kyc.rejected",
        _("Identity check rejected"),
        ACCOUNT,
        _("Your identity check was not approved"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your identity check (reference {{ reference }}) was not approved.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "You can send new documents from the portal: {{ portal_url }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {"reference": "KYC-311", "reason": _("The photo of the passport is blurred.")},
    )
)

define(
    EventSpec(
        "kyc.retry",
        _("Identity check: please try again"),
        ACCOUNT,
        _("Please complete your identity check again"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "the identity verification service could not verify you this time.\n"
            "\n"
            "{{ reason }}\n"
            "\n"
            "You can try again from the portal: {{ portal_url }}"
        ),
        WARNING,
        {"reason": _("The photo of the document is blurred. Please upload a sharp one.")},
    )
)

define(
    EventSpec(
        "deposit.approved",
        _("Deposit approved"),
        MONEY,
        _("Your deposit of {{ amount }} {{ currency }} was approved"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your deposit of {{ amount }} {{ currency }} (reference {{ reference }}) "
            "was approved and is in your wallet.\n"
            "\n"
            "{{ message }}"
        ),
        SUCCESS,
        {"reference": "DEP-5120", "amount": Decimal("1000.00"), "currency": "USD"},
    )
)

define(
    EventSpec(
        "deposit.rejected",
        _("Deposit rejected"),
        MONEY,
        _("Your deposit of {{ amount }} {{ currency }} was rejected"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your deposit of {{ amount }} {{ currency }} (reference {{ reference }}) "
            "was rejected.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {
            "reference": "DEP-5120",
            "amount": Decimal("1000.00"),
            "currency": "USD",
            "reason": _("The transfer did not arrive."),
        },
    )
)

define(
    EventSpec(
        "withdrawal.approved",
        _("Withdrawal approved"),
        MONEY,
        _("Your withdrawal of {{ amount }} {{ currency }} was approved"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your withdrawal (reference {{ reference }}) was approved: {{ amount }} "
            "{{ currency }} is on its way to {{ paid_to }}. {{ returned }}\n"
            "\n"
            "{{ message }}"
        ),
        SUCCESS,
        {
            "reference": "WDR-877",
            "amount": Decimal("250.00"),
            "currency": "USD",
            # where it is paid, masked (a notice may travel by email)
            "paid_to": "IBAN DE89 •••• 3000",
            # what a reviewer paying out less than was asked gave back; empty otherwise
            "returned": _("The other 50.00 USD is back in your wallet."),
        },
    )
)

define(
    EventSpec(
        "withdrawal.rejected",
        _("Withdrawal rejected"),
        MONEY,
        _("Your withdrawal of {{ amount }} {{ currency }} was rejected"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your withdrawal of {{ amount }} {{ currency }} (reference "
            "{{ reference }}) was rejected; the amount is back in your wallet.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {
            "reference": "WDR-877",
            "amount": Decimal("250.00"),
            "currency": "USD",
            "reason": _("The bank account is not in your name."),
        },
    )
)

define(
    EventSpec(
        "participation.approved",
        _("Trading account ready"),
        CHALLENGE,
        _("Your {{ challenge }} account is ready"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your trading account for {{ challenge }} ({{ stage }}) is ready: login "
            "{{ login }} on {{ server }}. Your password is on the challenge's page in"
            " the portal:\n"
            "{{ portal_url }}\n"
            "\n"
            "Good trading!\n"
            "\n"
            "{{ message }}"
        ),
        SUCCESS,
        {"challenge": "50K Challenge", "stage": "Phase 1", "login": "700123", "server": "Sandbox"},
    )
)

define(
    EventSpec(
        "participation.rejected",
        _("Challenge purchase rejected"),
        CHALLENGE,
        _("Your {{ challenge }} purchase was rejected"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your purchase of {{ challenge }} (reference {{ reference }}) was "
            "rejected; the fee was refunded to your wallet.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {
            "reference": "PAR-204",
            "challenge": "50K Challenge",
            "reason": _("Purchases from your country are not accepted."),
        },
    )
)

define(
    EventSpec(
        "stage.passed",
        _("Stage passed"),
        CHALLENGE,
        _("You passed {{ stage }} of {{ challenge }}"),
        _(
            "Congratulations, {{ client_name }}!\n"
            "\n"
            "You passed {{ stage }} of {{ challenge }} on account {{ login }}. What "
            "comes next is in the portal:\n"
            "{{ portal_url }}"
        ),
        SUCCESS,
        {"challenge": "50K Challenge", "stage": "Phase 1", "login": "700123"},
    )
)

define(
    EventSpec(
        "stage.failed",
        _("Stage failed"),
        CHALLENGE,
        _("{{ stage }} of {{ challenge }} has ended"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "{{ stage }} of {{ challenge }} on account {{ login }} has ended: "
            "{{ reason }}\n"
            "\n"
            "You can start again from the portal: {{ portal_url }}"
        ),
        WARNING,
        {
            "challenge": "50K Challenge",
            "stage": "Phase 1",
            "login": "700123",
            "reason": _(
                "Your equity fell to 44,870.00, below the maximum loss floor of 45,000.00."
            ),
        },
    )
)

define(
    EventSpec(
        "stage.paused",
        _("Stage paused"),
        CHALLENGE,
        _("{{ stage }} of {{ challenge }} is paused"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "{{ stage }} of {{ challenge }} on account {{ login }} is paused: "
            "{{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {
            "challenge": "50K Challenge",
            "stage": "Phase 1",
            "login": "700123",
            "reason": _("Trading was paused by the firm."),
        },
    )
)

define(
    EventSpec(
        "stage.resumed",
        _("Stage resumed"),
        CHALLENGE,
        _("{{ stage }} of {{ challenge }} is running again"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "{{ stage }} of {{ challenge }} on account {{ login }} is running again: "
            "{{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        INFO,
        {
            "challenge": "50K Challenge",
            "stage": "Phase 1",
            "login": "700123",
            "reason": _("The day ended: the pause is over and the daily loss limit applies again."),
        },
    )
)

define(
    EventSpec(
        "live_step.approved",
        _("Funded account approved"),
        CHALLENGE,
        _("Your funded account for {{ challenge }} was approved"),
        _(
            "Congratulations, {{ client_name }}!\n"
            "\n"
            "Your funded account for {{ challenge }} (reference {{ reference }}) was "
            "approved. Its credentials will be in the portal as soon as it is open.\n"
            "\n"
            "{{ message }}"
        ),
        SUCCESS,
        {"reference": "LIV-77", "challenge": "50K Challenge"},
    )
)

define(
    EventSpec(
        "live_step.rejected",
        _("Funded account rejected"),
        CHALLENGE,
        _("Your funded account for {{ challenge }} was not approved"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your funded account for {{ challenge }} (reference {{ reference }}) was "
            "not approved.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {
            "reference": "LIV-77",
            "challenge": "50K Challenge",
            "reason": _("The trading did not follow the firm's consistency rule."),
        },
    )
)

define(
    EventSpec(
        "payout.approved",
        _("Payout approved"),
        MONEY,
        _("Your payout of {{ amount }} {{ currency }} was approved"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your profit share of {{ amount }} {{ currency }} (reference "
            "{{ reference }}) was approved.\n"
            "\n"
            "{{ message }}"
        ),
        SUCCESS,
        {"reference": "PAY-19", "amount": Decimal("1840.00"), "currency": "USD"},
    )
)

define(
    EventSpec(
        "payout.rejected",
        _("Payout rejected"),
        MONEY,
        _("Your payout of {{ amount }} {{ currency }} was rejected"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your payout request of {{ amount }} {{ currency }} (reference "
            "{{ reference }}) was rejected.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {
            "reference": "PAY-19",
            "amount": Decimal("1840.00"),
            "currency": "USD",
            "reason": _("The account traded during news, against the rules."),
        },
    )
)

define(
    EventSpec(
        "payout.paid",
        _("Payout paid"),
        MONEY,
        _("Your payout of {{ amount }} {{ currency }} was paid"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your payout (reference {{ reference }}) was paid: {{ amount }} {{ currency }}, "
            "your share of {{ profit }} {{ currency }} profit, is in your wallet as a profit "
            "share."
        ),
        SUCCESS,
        {
            "reference": "PAY-19",
            "amount": Decimal("1840.00"),
            "currency": "USD",
            "profit": Decimal("2300.00"),
        },
    )
)

define(
    EventSpec(
        "payout.failed",
        _("Payout not made"),
        MONEY,
        _("Your payout of {{ amount }} {{ currency }} was not made"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your payout (reference {{ reference }}) was not made: the platform did not take "
            "the profit off your trading account, so nothing was paid. The profit counts as "
            "unpaid again: you may ask for a payout again from the portal:\n"
            "{{ portal_url }}"
        ),
        WARNING,
        {"reference": "PAY-19", "amount": Decimal("1840.00"), "currency": "USD"},
    )
)

define(
    EventSpec(
        "request.approved",
        _("Other request approved"),
        ACCOUNT,
        _("Your {{ request }} was approved"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your {{ request }} (reference {{ reference }}) was approved.\n"
            "\n"
            "{{ message }}"
        ),
        SUCCESS,
        {"request": "IB commission", "reference": "IBC-12"},
    )
)

define(
    EventSpec(
        "request.rejected",
        _("Other request rejected"),
        ACCOUNT,
        _("Your {{ request }} was rejected"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "your {{ request }} (reference {{ reference }}) was rejected.\n"
            "\n"
            "Reason: {{ reason }}\n"
            "\n"
            "{{ message }}"
        ),
        WARNING,
        {
            "request": "IB commission",
            "reference": "IBC-12",
            "reason": _("The period is not closed yet."),
        },
    )
)

# The alerts' events (their own module: this one would be too long).
from propdesk.notifications import catalogue_alerts  # noqa: E402,F401
