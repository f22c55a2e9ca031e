"""Names as they read in a sentence: `{{ client.get_kind_display|in_sentence }}` reads "trader"
or "IB" (where `|lower` would say "ib")."""

from __future__ import annotations

from django import template

from propdesk.core import text

register = template.Library()


@register.filter
def in_sentence(label: object) -> str:
    return text.in_sentence(str(label))
