"""{% panel shown %}: one of a page's panels (core.panels), its template drawn with the page's
context and the panel's own."""

from __future__ import annotations

from django import template
from django.template.context import Context
from django.utils.safestring import SafeString

from propdesk.core.panels import Shown, collect

register = template.Library()


@register.simple_tag(takes_context=True)
def panel(context: Context, shown: Shown) -> SafeString:
    assert context.template is not None
    drawn = context.template.engine.get_template(shown.template)
    with context.push(shown.context):
        return drawn.render(context)


@register.simple_tag(takes_context=True)
def layout_panels(context: Context, page: str) -> SafeString:
    """Every panel of a layout's `page` (core.panels.PORTAL_LAYOUT, say), for the request's
    user, one after the other."""
    request = context.get("request")
    if request is None:
        return SafeString("")
    return SafeString(
        "".join(panel(context, shown) for shown in collect(page, request, request.user))
    )
