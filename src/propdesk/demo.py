"""Demo data: the firm's staff, clients in each state and a living approvals queue."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from propdesk.accounts.models import User
from propdesk.accounts.services import create_staff_user, set_client_suspended
from propdesk.approvals import services as approvals
from propdesk.approvals.registry import Method
from propdesk.onboarding.request_types import IB_REGISTRATION, TRADER_REGISTRATION
from propdesk.onboarding.services import register_client

STAFF_PASSWORD = "demo-staff-2026"
CLIENT_PASSWORD = "demo-client-2026"
STAFF = [
    ("admin@propdesk.demo", "Ada Admin", "Administrator"),
    ("compliance@propdesk.demo", "Cora Compliance", "Compliance"),
    ("finance@propdesk.demo", "Finn Finance", "Finance"),
    ("support@propdesk.demo", "Sam Support", "Support"),
]
# (email, name, kind, nationality, phone, what happens to the registration)
CLIENTS = [
    ("alice@example.com", "Alice Novak", "trader", "CZ", "+420601234501", "approve"),
    ("bruno@example.com", "Bruno Rossi", "trader", "IT", "+393471234502", "suspend"),
    ("ivan@example.com", "Ivan Ibsen", "ib", "NO", "+4741234503", "approve"),
    ("carla@example.com", "Carla Mendes", "trader", "PT", "+351912345604", "pending"),
    ("dmitri@example.com", "Dmitri Volkov", "trader", "CY", "+35799123405", "pending"),
    ("erin@example.com", "Erin Walsh", "trader", "IE", "+353851234506", "pending"),
    ("felix@example.com", "Felix Braun", "ib", "DE", "+4915112345607", "pending"),
    ("gina@example.com", "Gina Park", "ib", "GB", "+447911123458", "pending-level-2"),
    ("hugo@example.com", "Hugo Lambert", "trader", "FR", "+33612345609", "reject"),
]


@dataclass
class DemoLogins:
    staff: list[tuple[str, str, str]] = field(default_factory=list)
    clients: list[tuple[str, str, str]] = field(default_factory=list)


def _logins() -> DemoLogins:
    logins = DemoLogins()
    logins.staff = [(email, STAFF_PASSWORD, role) for email, _, role in STAFF]
    states = {
        "approve": "active",
        "pending": "awaiting approval",
        "pending-level-2": "awaiting level 2",
        "reject": "rejected",
        "suspend": "suspended",
    }
    logins.clients = [(c[0], CLIENT_PASSWORD, states[c[5]]) for c in CLIENTS]
    return logins


def seed_demo() -> DemoLogins:
    """Create the demo firm once; running it again changes nothing."""
    if User.objects.filter(email=STAFF[0][0]).exists():
        return _logins()
    with transaction.atomic():
        staff = {
            role: create_staff_user(
                email=email, name=name, role_name=role, password=STAFF_PASSWORD, actor=None
            )
            for email, name, role in STAFF
        }
        admin, compliance = staff["Administrator"], staff["Compliance"]
        approvals.set_policy(TRADER_REGISTRATION, method=Method.MANUAL, level_roles=[], actor=admin)
        approvals.set_policy(
            IB_REGISTRATION,
            method=Method.MANUAL,
            level_roles=["Compliance", "Administrator"],
            actor=admin,
        )
        for email, name, kind, nationality, phone, fate in CLIENTS:
            client, request = register_client(
                kind=kind,
                name=name,
                email=email,
                password=CLIENT_PASSWORD,
                nationality=nationality,
                phone=phone,
                referral_code="IVAN2026" if kind == "trader" and fate == "pending" else None,
            )
            if fate in ("approve", "suspend"):
                approvals.approve(request.pk, actor=compliance, comment="Documents look fine.")
                if request.levels_total > 1:
                    approvals.approve(request.pk, actor=admin)
            if fate == "suspend":
                set_client_suspended(
                    client.pk, suspended=True, actor=compliance, reason="Payment chargeback."
                )
            elif fate == "pending-level-2":
                approvals.approve(request.pk, actor=compliance, comment="Checked the IB agreement.")
            elif fate == "reject":
                approvals.reject(
                    request.pk,
                    actor=compliance,
                    reason="We cannot accept clients whose phone number we cannot verify.",
                )
        pending = approvals.todo(compliance).first()
        if pending is not None:
            approvals.add_note(
                pending.pk, actor=compliance, text="Called the client; waiting for a call back."
            )
    return _logins()
