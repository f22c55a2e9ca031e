"""The staff permissions that guard people: clients, staff users and roles, the audit log."""

from __future__ import annotations

# Other apps declare theirs with the catalogue's `register` (propdesk.core.permissions); it is
# named here too for the apps that still import it from accounts.
from propdesk.core.permissions import register

__all__ = ["AUDIT_VIEW", "CLIENTS_MANAGE", "CLIENTS_VIEW", "STAFF_MANAGE", "register"]

CLIENTS_VIEW = register("clients.view", "See clients")
CLIENTS_MANAGE = register("clients.manage", "Suspend and reactivate clients")
STAFF_MANAGE = register("staff.manage", "Manage staff users and roles")
AUDIT_VIEW = register("audit.view", "See the audit log")
