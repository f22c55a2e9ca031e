from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from propdesk.accounts.models import User


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Menu figures: the approval queues' counts for staff, unread notifications for clients."""
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return {}
    if user.is_staff_user:
        from propdesk.accounts import permissions
        from propdesk.approvals import registry
        from propdesk.approvals import services as approvals

        can = {
            code.replace(".", "_"): user.has_permission(code) for code in permissions.catalogue()
        }
        if not user.has_permission(permissions.APPROVALS_VIEW):
            return {"nav_queues": [], "can": can}
        counts = approvals.pending_counts(user)
        queues = [(t.key, t.label, counts.get(t.key, 0)) for t in registry.all_types()]
        return {"nav_queues": queues, "nav_todo": approvals.todo(user).count(), "can": can}
    from propdesk.notifications.services import unread_count

    return {"nav_unread": unread_count(user)}
