from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from propdesk.core import menu, permissions


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The menus (the links each app added, with their figures: drawn only when a page shows
    them), and for staff `can`: each permission code (dots as underscores) they hold."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    figures: dict[str, Any] = {"portal_menu": SimpleLazyObject(lambda: menu.portal(user))}
    if getattr(user, "is_staff_user", False):
        figures["can"] = {
            code.replace(".", "_"): user.has_permission(code) for code in permissions.catalogue()
        }
        figures["backoffice_menu"] = SimpleLazyObject(lambda: menu.backoffice(user))
    return figures
