"""Schemas the whole API shares."""

from __future__ import annotations

from ninja import Field, Schema
from pydantic import ConfigDict


class ErrorOut(Schema):
    """Every error the API answers with: a stable `code`, a `message` for people, and for
    `validation_error` one message per field. Some refusals add keys of their own (a 429's
    `retry_after`, a 409 `payout_not_eligible`'s `eligibility`, a `price_changed`'s `fee`)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": True})

    code: str = Field(
        description="Stable and machine-readable; the operation's error statuses list theirs.",
        examples=["validation_error", "not_found", "insufficient_funds"],
    )
    message: str = Field(description="For people; its words may change.")
    fields: dict[str, str] | None = Field(
        None, description="`validation_error`: a message per field or parameter, by its name."
    )
    retry_after: int | None = Field(
        None, description="429: the seconds to wait (also the `Retry-After` header)."
    )
