from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from propdesk.accounts.models import User


def navigation(request: HttpRequest) -> dict[str, Any]:
    """Menu figures: the approval queues' counts and the background jobs that gave up for staff,
    unread notifications for clients."""
    user = getattr(request, "user", None)
    if not isinstance(user, User):
        return {}
    if user.is_staff_user:
        from propdesk.approvals import registry
        from propdesk.approvals import services as approvals
        from propdesk.approvals.permissions import APPROVALS_VIEW
        from propdesk.core.permissions import catalogue

        can = {code.replace(".", "_"): user.has_permission(code) for code in catalogue()}
        figures: dict[str, Any] = {"nav_queues": [], "can": can}
        if can.get("jobs_view"):
            from propdesk.jobs import services as jobs

            figures["nav_jobs_gave_up"] = jobs.gave_up_count()
        if not user.has_permission(APPROVALS_VIEW):
            return figures
        counts = approvals.pending_counts(user)
        queues = [(t.key, t.label, counts.get(t.key, 0)) for t in registry.all_types()]
        figures.update(nav_queues=queues, nav_todo=approvals.todo(user).count())
        return figures
    from propdesk.notifications.services import unread_count

    return {"nav_unread": unread_count(user)}
