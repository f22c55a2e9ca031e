"""The staff permissions that guard people: clients, staff users and roles, the audit log."""

from __future__ import annotations

from propdesk.core.permissions import register

CLIENTS_VIEW = register("clients.view", "See clients")
CLIENTS_MANAGE = register("clients.manage", "Suspend and reactivate clients")
CLIENTS_NOTE = register("clients.note", "Write notes on clients")
STAFF_MANAGE = register("staff.manage", "Manage staff users and roles")
AUDIT_VIEW = register("audit.view", "See the audit log")
CLIENTS_REFERRALS = register("clients.referrals", "Move clients between referrers")
