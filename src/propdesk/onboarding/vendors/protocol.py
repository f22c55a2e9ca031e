"""What propdesk asks of an identity (KYC) vendor, whatever the vendor is.

The client is sent to the vendor's own flow (`start`: a hosted link and/or an access token for
the vendor's web SDK), after propdesk's transaction has committed. The vendor tells propdesk
that something happened with a signed webhook (`parse_webhook` checks the signature exactly as
the vendor specifies and reads the event, calling nothing), and propdesk then **asks** the
vendor for the applicant's review (`review`): the webhook's body alone never decides a KYC.

Errors have the shape of the payment providers' (wallet.providers.protocol): a vendor not
reached, timing out or failing (5xx, 429) is `VendorUnavailable` (try again later); a refusal
of the call itself is `VendorRefused`; a webhook that does not verify is `BadWebhook`.

The adapters live beside this module (`sumsub.py`); each has a fake under `fakes/`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol


class VendorError(Exception):
    """A call to the vendor did not give an answer propdesk can use."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body  # the vendor's answer as it was sent (kept for staff)


class VendorUnavailable(VendorError):
    """Not reached, timed out, 5xx or 429: the same call may be tried again later."""


class VendorRefused(VendorError):
    """The vendor refused the call (a 4xx other than 408/425/429): trying it again as it is
    would be refused again."""


class BadWebhook(Exception):
    """A webhook whose signature does not verify or is not in the vendor's shape: answered 400,
    and nothing changes."""


@dataclass(frozen=True)
class Field:
    """One setting a vendor needs (shown on its settings page; `secret` ones are sealed with
    the vault and never shown again)."""

    key: str
    label: str
    secret: bool = False
    default: str = ""
    help: str = ""


@dataclass(frozen=True)
class StartRequest:
    external_user_id: str  # propdesk's id of the client at the vendor (stable, not guessable)
    email: str
    return_url: str  # where the vendor's page sends the client back
    lang: str = "en"


@dataclass(frozen=True)
class Started:
    applicant_id: str  # "" when the vendor creates the applicant only as the client starts
    url: str  # the hosted page the client is sent to ("" when only the SDK is offered)
    access_token: str  # for the vendor's web SDK ("" when only the link is offered)
    raw: dict[str, Any]


class Answer(StrEnum):
    WAITING = "waiting"  # not reviewed yet (documents requested, pending, on hold)
    APPROVED = "approved"  # GREEN
    RETRY = "retry"  # RED, the applicant may submit again
    FINAL = "final"  # RED, for good


@dataclass(frozen=True)
class Review:
    """What the vendor says now about an applicant's check."""

    applicant_id: str
    answer: Answer
    labels: tuple[str, ...] = ()
    client_comment: str = ""  # the vendor's words for the firm (never shown to the client)
    moderation_comment: str = ""  # the vendor's words for the applicant
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """One verified webhook event, as the vendor said it (not yet believed)."""

    event_key: str  # what makes the event unique: each is handled once
    type: str  # the vendor's own event type ("applicantReviewed")
    applicant_id: str
    external_user_id: str
    raw: dict[str, Any] = field(default_factory=dict)


class KycVendor(Protocol):
    kind: ClassVar[str]  # "sumsub"
    label: ClassVar[str]  # "SumSub"
    fields: ClassVar[tuple[Field, ...]]

    def start(self, request: StartRequest) -> Started:
        """Make sure the applicant exists and give the client's way into the vendor's flow."""
        ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> Notice:
        """Verify the signature as the vendor specifies (raise BadWebhook), read the event."""
        ...

    def review(self, applicant_id: str) -> Review:
        """Ask the vendor for the applicant's review (never trust a webhook's body)."""
        ...

    def test_connection(self) -> str:
        """One sentence on what the vendor answered with these settings (raise VendorError)."""
        ...
