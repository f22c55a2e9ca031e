"""Panels: the parts of one app's page that other apps fill, so that the page does not import
them. The back office's client page is a 360° view of the client: a summary line at the top
(`CLIENT_SUMMARY`: each app adds its figure, e.g. the balance, the active challenges), then the
sections (`CLIENT`): wallet, challenges, trading accounts, KYC, requests, notes. The portal's
home shows the trader's next step and challenges (challenges) and the latest notifications.

Each app registers its panel when it loads (in its AppConfig.ready): a template, a function
that gives the template its context from the request and the page's subject (the client), the
permission that shows it, and its place on the page. The page asks `collect` for the panels its
user may see, and its template shows each with the `panel` tag (core/templatetags/panels.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from propdesk.core.permissions import Guard, allows

CLIENT = "client"  # the back office's page of a client; the subject: the Client
CLIENT_SUMMARY = "client_summary"  # the figures at the top of that page; the subject: the Client
PORTAL_HOME = "portal_home"  # the client's home in the portal; the subject: the Client
# Every portal page, above its content (a pop-up telling what is new); the subject: the user.
# The layout draws them itself (`{% layout_panels %}`).
PORTAL_LAYOUT = "portal_layout"

Context = Callable[[HttpRequest, Any], dict[str, Any]]


@dataclass(frozen=True)
class Panel:
    page: str
    key: str
    template: str
    context: Context
    order: int
    permission: Guard = None
    title: str = ""


@dataclass(frozen=True)
class Shown:
    """A panel to show: its template, with the context drawn for this request."""

    template: str
    context: dict[str, Any]
    key: str = ""
    title: str = ""


_panels: dict[tuple[str, str], Panel] = {}


def register(
    page: str,
    *,
    key: str,
    template: str,
    context: Context,
    order: int,
    permission: Guard = None,
    title: str = "",
) -> None:
    """Add a panel to `page` (registering the same key again replaces it); `title` names it in
    the page's list of sections."""
    _panels[(page, key)] = Panel(page, key, template, context, order, permission, title)


def collect(page: str, request: HttpRequest, subject: Any) -> list[Shown]:
    """The panels of `page` this request's user may see, in order, with their context."""
    found = sorted(
        (p for p in _panels.values() if p.page == page and allows(request.user, p.permission)),
        key=lambda p: p.order,
    )
    return [Shown(p.template, p.context(request, subject), p.key, p.title) for p in found]
