"""Status fields move only along an explicit transition table."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models

from propdesk.core.errors import InvalidTransition


def move_status(
    obj: models.Model,
    new: str,
    transitions: Mapping[str, frozenset[str]],
    *,
    field: str = "status",
    what: str = "",
) -> str:
    """Set `obj.<field>` to `new` if the table allows it; return the old status."""
    old: str = getattr(obj, field)
    if new not in transitions.get(old, frozenset()):
        label = what or obj._meta.verbose_name
        raise InvalidTransition(
            f"The {label} is {old.replace('_', ' ')}; it cannot become {new.replace('_', ' ')}."
        )
    setattr(obj, field, new)
    return old
