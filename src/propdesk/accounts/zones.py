"""A client's own time zone: the one their portal shows every time in.

A client may name an IANA zone ("Asia/Tokyo"); empty means the firm's (PROPDESK_TIME_ZONE).
Staff read the back office in the firm's zone. `ClientTimeZoneMiddleware` activates the zone
for a client's requests, so templates' dates follow it; code that writes an instant into a
sentence asks `zone_of` for it and names it (`progress.instant_text`).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext

from propdesk.core.validation import FieldErrors

MAX_LENGTH = 64  # the longest IANA name is 32 characters

# The zones the forms offer first; any other IANA name is accepted too (the registration page's
# script adds the browser's own when it is not among these).
COMMON = (
    "UTC",
    "Europe/London",
    "Europe/Lisbon",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Zurich",
    "Europe/Vienna",
    "Europe/Prague",
    "Europe/Warsaw",
    "Europe/Stockholm",
    "Europe/Athens",
    "Europe/Bucharest",
    "Europe/Helsinki",
    "Europe/Kyiv",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Hong_Kong",
    "Asia/Shanghai",
    "Asia/Manila",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/Bogota",
    "America/Mexico_City",
    "America/New_York",
    "America/Toronto",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
)


# Names the system's tz database has that are not places: the host's own zone, a placeholder.
NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@cache
def _known() -> frozenset[str]:
    """The tz database's zones that are places (Area/Location, and UTC)."""
    return frozenset(
        name
        for name in available_timezones()
        if name not in NOT_PLACES and ("/" in name or name == "UTC")
    )


def is_known(name: str) -> bool:
    """Whether `name` is an IANA zone this system has (never a path: "../x" is not one)."""
    return name in _known()


def clean_time_zone(errors: FieldErrors, field: str, value: Any) -> str:
    """A client's time zone as given: "" (the firm's) or an IANA name; anything else is an error
    on `field` and comes back as ""."""
    if value is None:
        return ""
    if not isinstance(value, str):
        errors.add(field, "Time zone must be text, an IANA name such as Europe/Prague.")
        return ""
    name = value.strip()
    if len(name) > MAX_LENGTH:
        errors.add(field, f"A time zone name has at most {MAX_LENGTH} characters.")
        return ""
    if name and not is_known(name):
        errors.add(
            field,
            "Unknown time zone: choose one from the list (an IANA name such as Europe/Prague "
            "or Asia/Tokyo).",
        )
        return ""
    return name


def validate_time_zone(value: str) -> None:
    """The model field's validator (the same rule as `clean_time_zone`)."""
    errors = FieldErrors()
    clean_time_zone(errors, "time_zone", value)
    if errors.errors:
        raise ValidationError(errors.errors["time_zone"])


def firm_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def zone_named(name: str) -> ZoneInfo:
    """The zone called `name`, the firm's when it is empty (or no longer known here)."""
    return ZoneInfo(name) if name and is_known(name) else firm_zone()


def zone_of(client: Any) -> ZoneInfo:
    """The zone a client reads times in: their own, else the firm's."""
    return zone_named(getattr(client, "time_zone", "") or "")


def label(name: str, now: datetime | None = None) -> str:
    """A zone as a list shows it: "Asia/Tokyo (UTC+09:00)", its offset as of now."""
    offset = (now or timezone.now()).astimezone(ZoneInfo(name)).strftime("%z")
    return f"{name} (UTC{offset[:3]}:{offset[3:]})"


def choices(current: str = "") -> list[tuple[str, str]]:
    """The options of a time-zone select: the firm's first (the empty value), then the common
    zones, and the current one if it is not among them."""
    firm = gettext("The firm's time zone (%(zone)s)") % {"zone": settings.TIME_ZONE}
    names = list(COMMON)
    if current and current not in names and is_known(current):
        names.append(current)
    now = timezone.now()
    return [("", firm), *((name, label(name, now)) for name in names if is_known(name))]
