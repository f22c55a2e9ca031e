"""Client registration: the portal form and the API both come here."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django_countries import countries

from propdesk.accounts import groups as client_groups
from propdesk.accounts import recovery, referrals, zones
from propdesk.accounts.models import Client, User
from propdesk.approvals import services as approvals
from propdesk.approvals.models import ApprovalRequest
from propdesk.core.errors import Throttled, ValidationFailed
from propdesk.core.validation import FieldErrors, check_password, clean_email, clean_text
from propdesk.onboarding.request_types import TYPE_FOR_KIND

REFERRAL_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
PROMO_LINK_CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")  # with fullmatch


def promo_link_code(value: Any) -> str:
    """A promotional link's code as registration keeps it: letters, digits, - and _, at most
    40; anything else is no code. (Whether the link exists is the challenges app's to say.)"""
    if isinstance(value, str) and PROMO_LINK_CODE.fullmatch(value):
        return value
    return ""


def clean_phone(errors: FieldErrors, field: str, value: Any) -> str:
    raw = clean_text(errors, field, value, label="Phone", max_length=32)
    if field in errors:
        return raw
    if not raw.startswith("+"):
        errors.add(
            field,
            gettext("Start the phone number with + and the country code, e.g. +420 601 234 567."),
        )
        return raw
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        errors.add(field, gettext("Enter a valid phone number with its country code."))
        return raw
    if not phonenumbers.is_valid_number(number):
        errors.add(field, gettext("This phone number is not valid for its country code."))
        return raw
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def register_client(
    *,
    kind: Any,
    name: Any,
    email: Any,
    password: Any,
    nationality: Any,
    phone: Any,
    referral_code: Any = None,
    time_zone: Any = None,
    language: Any = None,
    ip: str | None = None,
    arrived_via: Any = None,
) -> tuple[Client, ApprovalRequest]:
    """Register a trader or an IB and submit their registration for approval. `time_zone` is
    the one their portal shows times in (an IANA name; none: the firm's). `arrived_via` is the
    code of the promotional link they came by (kept as given when well formed, else dropped:
    it comes from the visitor's session, not from what they typed).

    Bad input raises `ValidationFailed` naming each field, and nothing is created. One address
    may register only so many clients an hour (bots, and probing for taken emails).
    """
    if ip is not None:
        since = timezone.now() - timedelta(hours=1)
        recent = Client.objects.filter(registration_ip=ip, created_at__gte=since).count()
        if recent >= settings.REGISTRATIONS_PER_IP_PER_HOUR:
            raise Throttled("Too many registrations from your address. Try again later.")
    errors = FieldErrors()
    if kind not in Client.Kind.values:
        errors.add("type", gettext("Choose trader or IB."))
    clean_name = clean_text(errors, "name", name, label="Name", max_length=150)
    address = clean_email(errors, "email", email)
    code = str(nationality).strip().upper() if isinstance(nationality, str) else ""
    if not code:
        errors.add("nationality", gettext("Nationality is required."))
    elif code not in countries:
        errors.add(
            "nationality", gettext("Choose a country from the list (ISO code such as CZ or GB).")
        )
    number = clean_phone(errors, "phone", phone)
    referral = clean_text(
        errors, "referral_code", referral_code, label="Referral code", max_length=40, required=False
    )
    if referral and "referral_code" not in errors and not REFERRAL_CODE.match(referral):
        errors.add("referral_code", gettext("A referral code has only letters, digits, - and _."))
    # The referral program: a code that matches a client records them as the referrer.
    referrer = referrals.find_referrer(referral) if referral else None
    if referral and "referral_code" not in errors and referrer is None:
        errors.add("referral_code", gettext("No client has this referral code."))
    zone = zones.clean_time_zone(errors, "time_zone", time_zone)
    known = {lang for lang, _ in settings.LANGUAGES}
    if language not in (None, "") and language not in known:
        errors.add("language", gettext("Choose one of the languages offered."))
    check_password(errors, "password", password, User(email=address, name=clean_name))
    if "email" not in errors and User.objects.filter(email__iexact=address).exists():
        errors.add("email", gettext("An account with this email already exists. Log in instead."))
    if "phone" not in errors and Client.objects.filter(phone=number).exists():
        errors.add("phone", gettext("This phone number is already registered."))
    errors.raise_if_any(gettext("Please correct the marked fields."))

    # Client groups: the first registration rule matching them places them (else the default).
    group = client_groups.group_for_registration(
        country=code,
        referrer=referrer.referral_code if referrer is not None and referrer.referral_code else "",
        promo_code=promo_link_code(arrived_via),
    )

    try:
        with transaction.atomic():
            user = User(email=address, name=clean_name, kind=User.Kind.CLIENT)
            user.language = language if language in known else settings.LANGUAGE_CODE
            user.set_password(password)
            user.save()
            client = Client.objects.create(
                user=user,
                kind=kind,
                nationality=code,
                phone=number,
                referral_code_used=referral,
                referrer=referrer,
                time_zone=zone,
                registration_ip=ip,
                arrived_via=promo_link_code(arrived_via),
                group=group,
            )
            request = approvals.submit(TYPE_FOR_KIND[Client.Kind(kind)], client=client)
            recovery.send_verification(user)  # the link that verifies their email
    except IntegrityError as exc:
        # Two registrations raced past the checks above; the unique index decided.
        field = "phone" if "phone" in str(exc).lower() else "email"
        raise ValidationFailed(
            gettext("Please correct the marked fields."),
            fields={field: f"This {field} is already registered."},
        ) from exc
    client.refresh_from_db()
    return client, request
