"""Two-factor helpers: enrol through the real use cases, and type what the app would show."""

from __future__ import annotations

import time

from django_otp.oath import totp

from propdesk.accounts import services as accounts
from propdesk.accounts import two_factor
from propdesk.accounts.models import Authenticator, Role, User


def app_code(key: bytes, *, last_t: int = -1, drift: int = 0, step: int = 30) -> str:
    """The code an authenticator app holding `key` shows, in the first time step the server
    still takes: a code is good once, so after one was used in this step, the next step's."""
    now = int(time.time()) // step
    wanted = max(now + drift, last_t + 1)
    return f"{totp(key, step=step, drift=wanted - now):06d}"


def code_for(device: Authenticator) -> str:
    device.refresh_from_db()
    return app_code(device.bin_key, last_t=device.last_t, drift=device.drift, step=device.step)


def next_code(user: User) -> str:
    """The code the user's enrolled app shows now."""
    return code_for(Authenticator.objects.get(user=user, confirmed=True))


def enrol(user: User) -> list[str]:
    """Turn two-factor login on for `user`; returns their recovery codes."""
    device = two_factor.begin_enrolment(actor=user)
    _device, codes = two_factor.confirm_enrolment(actor=user, code=code_for(device))
    return codes


def require_two_factor(role_name: str, admin: User) -> Role:
    """The firm requires two-factor login of everyone with this role."""
    role = Role.objects.get(name=role_name)
    return accounts.save_role(
        role.pk,
        name=role.name,
        description=role.description,
        permission_codes=role.permission_codes(),
        requires_two_factor=True,
        actor=admin,
    )


# --- The referral tree ----------------------------------------------------------------------


def referred(register, by=None, **overrides):
    """A client registered with `by`'s referral code (none: at the top of a tree)."""
    client, _ = register(referral_code=by.referral_code if by is not None else None, **overrides)
    return client


def tree(register):
    """ib -> sub (an IB) -> trader -> friend, and ib -> other: three levels below ib."""
    ib = referred(register, kind="ib", name="Top IB")
    sub = referred(register, ib, kind="ib", name="Sub IB")
    trader = referred(register, sub, name="Trader Three")
    friend = referred(register, trader, name="Friend Four")
    other = referred(register, ib, name="Other Trader")
    return ib, sub, trader, friend, other


# --- account recovery: the links in the emails the worker sent -------------------------------


def emails_to(address: str) -> list:
    from django.core import mail

    return [m for m in mail.outbox if m.to == [address]]


def link_in_email(address: str, marker: str) -> str:
    """The site path of the last link containing `marker` (`/login/reset/`, `/login/verify/`)
    emailed to `address`."""
    import re

    for message in reversed(emails_to(address)):
        found = re.search(r"https?://[^/\s]+(" + re.escape(marker) + r"\S+)", message.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no {marker} link was emailed to {address}")
