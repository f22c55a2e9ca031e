"""The staff permissions of the approval engine (each request type names its own reviewers')."""

from __future__ import annotations

from propdesk.core.permissions import register

APPROVALS_VIEW = register("approvals.view", "See approval queues and requests")
APPROVALS_NOTE = register("approvals.note", "Add notes to requests")
