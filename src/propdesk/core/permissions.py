"""The catalogue of staff permissions. Each app declares the permissions that guard it, in its
own permissions.py, with `register`; a role holds their codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from propdesk.core.errors import Forbidden


class Actor(Protocol):
    """Whoever acts: a staff user's role says what they may do."""

    def has_permission(self, code: str) -> bool: ...


# Who may see a thing (a menu link, a page's panel): anyone (None), the holders of a permission
# code, or whom a test lets in.
Guard = str | Callable[[Any], bool] | None


def allows(user: Any, guard: Guard) -> bool:
    if guard is None:
        return True
    if isinstance(guard, str):
        return bool(user.has_permission(guard))
    return guard(user)


_CATALOGUE: dict[str, str] = {}


def register(code: str, label: str) -> str:
    existing = _CATALOGUE.get(code)
    if existing is not None and existing != label:
        raise ValueError(f"permission {code!r} registered twice with different labels")
    _CATALOGUE[code] = label
    return code


def catalogue() -> dict[str, str]:
    return dict(sorted(_CATALOGUE.items()))


def is_known(code: str) -> bool:
    return code in _CATALOGUE


def require_permission(actor: Actor, code: str) -> None:
    if not actor.has_permission(code):
        label = _CATALOGUE.get(code, code)
        raise Forbidden(f"Your role does not allow this ({label}).")


# The settings pages of several apps (approval methods, KYC, payment methods) share this one.
SETTINGS_MANAGE = register("settings.manage", "Change settings (approval methods and the like)")
