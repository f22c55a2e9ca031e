"""The alerts' events (docs/notifications.md), defined after the others: a firm switches
them on per challenge and the monitor raises them (challenges/monitoring/alerts.py)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from propdesk.notifications.events import INFO, WARNING, EventSpec, define

ALERTS = _("Alerts")

define(
    EventSpec(
        "alert.daily_loss",
        _("Alert: daily loss"),
        ALERTS,
        _("Account {{ login }}: {{ used }}% of today's loss limit used"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "account {{ login }} ({{ challenge }}) has used {{ used }}% of its daily "
            "loss limit: today's loss is {{ loss }} of {{ limit }} {{ currency }} "
            "allowed. The limit is reached at an equity of {{ floor }}."
        ),
        WARNING,
        {
            "challenge": "50K Challenge",
            "login": "700123",
            "used": "80",
            "threshold": "80",
            "loss": Decimal("2000.00"),
            "limit": Decimal("2500.00"),
            "currency": "USD",
            "floor": Decimal("47500.00"),
        },
    )
)

define(
    EventSpec(
        "alert.max_loss",
        _("Alert: maximum loss"),
        ALERTS,
        _("Account {{ login }}: {{ used }}% of the maximum loss used"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "account {{ login }} ({{ challenge }}) has used {{ used }}% of its "
            "maximum loss: {{ loss }} of {{ limit }} {{ currency }} allowed. The "
            "limit is reached at an equity of {{ floor }}."
        ),
        WARNING,
        {
            "challenge": "50K Challenge",
            "login": "700123",
            "used": "80",
            "threshold": "80",
            "loss": Decimal("4000.00"),
            "limit": Decimal("5000.00"),
            "currency": "USD",
            "floor": Decimal("45000.00"),
        },
    )
)

define(
    EventSpec(
        "alert.period_ending",
        _("Alert: trading period ends soon"),
        ALERTS,
        _("{{ stage }} of {{ challenge }} ends in {{ days }} days"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "the trading period of {{ stage }} of {{ challenge }} on account "
            "{{ login }} ends on {{ ends_on }}, in {{ days }} days."
        ),
        INFO,
        {
            "challenge": "50K Challenge",
            "stage": "Phase 1",
            "login": "700123",
            "days": "3",
            "ends_on": "2026-12-31",
        },
    )
)

define(
    EventSpec(
        "alert.inactivity",
        _("Alert: no trade"),
        ALERTS,
        _("No trade on account {{ login }} for {{ days }} days"),
        _(
            "Hello {{ client_name }},\n"
            "\n"
            "there has been no trade on account {{ login }} ({{ challenge }}) for "
            "{{ days }} days."
        ),
        INFO,
        {"challenge": "50K Challenge", "login": "700123", "days": "7"},
    )
)
