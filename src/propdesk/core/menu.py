"""The menus: the back office's side menu (headed sections of links) and the portal's bar.

Each app adds its own links when it loads (in its AppConfig.ready), with the permission that
shows them and, if it has one, the figure next to the label; a page asks for the links its user
may see. So the menus name every app while core imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext

from propdesk.core.permissions import Guard, allows

BACKOFFICE = "backoffice"
PORTAL = "portal"


@dataclass(frozen=True)
class Link:
    """A link as the menu shows it, with its figure (`count`) if it has one."""

    label: str
    href: str
    count: int | None = None
    count_zero: bool = False  # a zero is shown too, greyed; otherwise only a figure above zero
    count_id: str = ""
    count_title: str = ""
    data: tuple[tuple[str, str], ...] = ()  # the link's data-* attributes
    # A sub-heading within the section ("CRM Reports" under Reports): the links that share it
    # follow it, and the page reads "Section > group > label".
    group: str = ""

    @property
    def shows_count(self) -> bool:
        return self.count is not None and (self.count_zero or self.count > 0)


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    order: int
    always_shown: bool = False  # the heading stays when the user may see none of its links


@dataclass(frozen=True)
class Entry:
    key: str
    menu: str
    section: str
    order: int
    links: Callable[[Any], Iterable[Link]]
    permission: Guard = None


@dataclass(frozen=True)
class ShownSection:
    label: str
    links: list[Link]


_sections: dict[str, Section] = {}
_entries: dict[tuple[str, str], Entry] = {}


def section(key: str, label: str, *, order: int, always_shown: bool = False) -> str:
    """Declare a heading of the back office's menu; the sections come in `order`."""
    _sections[key] = Section(key, label, order, always_shown)
    return key


def link(
    menu: str,
    *,
    label: str,
    url: str,
    order: int,
    section: str = "",
    permission: Guard = None,
    url_kwargs: Mapping[str, Any] | None = None,
    count: Callable[[Any], int | None] | None = None,
    count_zero: bool = False,
    count_id: str = "",
    count_title: str = "",
    group: str = "",
) -> None:
    """Add a link to the page named `url`, under `section` in the back office (and under the
    sub-heading `group`, if given); `count`, if given, is the figure shown next to it."""

    def make(user: Any) -> list[Link]:
        return [
            Link(
                label,
                reverse(url, kwargs=dict(url_kwargs or {})),
                count=count(user) if count is not None else None,
                count_zero=count_zero,
                count_id=count_id,
                count_title=count_title,
                group=group,
            )
        ]

    links(menu, key=url, section=section, order=order, make=make, permission=permission)


def links(
    menu: str,
    *,
    key: str,
    order: int,
    make: Callable[[Any], Iterable[Link]],
    section: str = "",
    permission: Guard = None,
) -> None:
    """Add the links `make` draws for a user (one per approval queue, say). Adding again under
    the same key replaces what was there."""
    _entries[(menu, key)] = Entry(key, menu, section, order, make, permission)


def _visible(menu: str, user: Any) -> list[Entry]:
    found = [e for e in _entries.values() if e.menu == menu and allows(user, e.permission)]
    return sorted(found, key=lambda e: e.order)


def backoffice(user: Any) -> list[ShownSection]:
    """The back office's menu for `user`: each section in order with the links they may see."""
    entries = _visible(BACKOFFICE, user)
    unknown = {e.section for e in entries} - set(_sections)
    if unknown:
        raise LookupError(f"menu links under undeclared sections: {sorted(unknown)}")
    shown = []
    for heading in sorted(_sections.values(), key=lambda s: s.order):
        found = [one for e in entries if e.section == heading.key for one in e.links(user)]
        if found or heading.always_shown:
            shown.append(ShownSection(heading.label, found))
    return shown


def portal(user: Any) -> list[Link]:
    """The portal's bar for `user`, in the active language: the apps mark their portal labels
    with gettext_noop, so the catalogue has them."""
    return [
        replace(one, label=gettext(one.label), count_title=_translated(one.count_title))
        for entry in _visible(PORTAL, user)
        for one in entry.links(user)
    ]


def _translated(text: str) -> str:
    return gettext(text) if text else text
