"""The challenge catalogue over the API: firms script it (staff), clients read what they may
start."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Body, Router, Schema, Status
from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

from propdesk.accounts.api_auth import current_staff, current_user
from propdesk.challenges.catalogue import offering
from propdesk.challenges.catalogue import services as catalogue
from propdesk.challenges.catalogue.definition import ChallengeDefinition, ChallengeDefinitionIn
from propdesk.challenges.models import Challenge, ChallengeVersion
from propdesk.challenges.permissions import CHALLENGES_VIEW
from propdesk.core.permissions import require_permission
from propdesk.core.schema import Blank, FilterText, OneOf

router = Router(tags=["challenges"])


def _as_sent(value: Any) -> dict[str, Any]:
    """The body as sent, for the catalogue to check: it names every fault by its path
    (`stages.1.rules`) in its own words, which a check by the schema would answer first."""
    if not isinstance(value, dict):
        raise PydanticCustomError("dict_type", "Input should be a valid dictionary")
    return value


# The OpenAPI shows the definition's fields (ChallengeDefinitionIn); catalogue.clean_definition
# is what checks them.
DefinitionBody = Annotated[
    dict[str, Any], PlainValidator(_as_sent, json_schema_input_type=ChallengeDefinitionIn)
]


class ChangeOut(Schema):
    path: str
    before: Any
    after: Any


class ChallengeOut(Schema):
    id: int
    status: Annotated[str, OneOf(Challenge.Status.values)]
    version: int | None
    published_at: datetime | None
    definition: ChallengeDefinition
    draft_version: int | None = None
    draft: ChallengeDefinition | None = None


def _out(
    challenge: Challenge, *, staff: bool, published: ChallengeVersion | None = None
) -> ChallengeOut:
    published = published or challenge.published()
    draft = challenge.draft() if staff else None
    shown = published or draft
    assert shown is not None
    return ChallengeOut(
        id=challenge.pk,
        status=challenge.status,
        version=published.number if published else None,
        published_at=published.published_at if published else None,
        definition=shown.spec,
        draft_version=draft.number if draft else None,
        draft=draft.spec if draft else None,
    )


@router.post(
    "",
    response={201: ChallengeOut},
    summary="Define a challenge (a draft): the whole definition as JSON",
)
def create(request: HttpRequest, definition: DefinitionBody = Body(...)) -> Status:  # noqa: B008
    challenge = catalogue.create(definition, actor=current_staff(request))
    return Status(201, _out(challenge, staff=True))


@router.put("/{challenge_id}/draft", response=ChallengeOut, summary="Replace the draft")
def save_draft(
    request: HttpRequest,
    challenge_id: str,
    definition: DefinitionBody = Body(...),  # noqa: B008
) -> ChallengeOut:
    catalogue.save_draft(challenge_id, definition, actor=current_staff(request))
    return _out(catalogue.get(challenge_id), staff=True)


class PublishedOut(Schema):
    challenge: ChallengeOut
    changes: list[ChangeOut]


@router.post(
    "/{challenge_id}/publish",
    response=PublishedOut,
    summary="Publish the draft; the answer lists what changed against the version before",
)
def publish(request: HttpRequest, challenge_id: str) -> PublishedOut:
    _, changes = catalogue.publish(challenge_id, actor=current_staff(request))
    return PublishedOut(
        challenge=_out(catalogue.get(challenge_id), staff=True),
        changes=[ChangeOut(path=c.path, before=c.before, after=c.after) for c in changes],
    )


@router.post("/{challenge_id}/end", response=ChallengeOut, summary="No new participants")
def end(request: HttpRequest, challenge_id: str) -> ChallengeOut:
    return _out(catalogue.end(challenge_id, actor=current_staff(request)), staff=True)


@router.post("/{challenge_id}/duplicate", response={201: ChallengeOut}, summary="A draft copy")
def duplicate(request: HttpRequest, challenge_id: str) -> Status:
    copy = catalogue.duplicate(challenge_id, actor=current_staff(request))
    return Status(201, _out(copy, staff=True))


@router.get(
    "",
    response=list[ChallengeOut],
    summary="Clients: the published challenges open to them (`tag=` filters). Staff: all",
)
def listing(
    request: HttpRequest,
    tag: FilterText = "",
    status: Annotated[Annotated[str, OneOf(Challenge.Status.values)] | None, Blank] = None,
) -> list[ChallengeOut]:
    user = current_user(request)
    if user.is_staff_user:
        require_permission(user, CHALLENGES_VIEW)
        rows = Challenge.objects.prefetch_related("versions")
        if status is not None:
            rows = rows.filter(status=status)
        found = [_out(c, staff=True) for c in rows]
        wanted = tag.strip().lower()
        return [c for c in found if not wanted or wanted in map(str.lower, c.definition.tags)]
    client = getattr(user, "client", None)  # the catalogue of the client's group
    versions = offering.for_client(client, tag=tag.strip()[:30])
    return [_out(v.challenge, staff=False, published=v) for v in versions]


@router.get("/{challenge_id}", response=ChallengeOut, summary="One challenge")
def detail(request: HttpRequest, challenge_id: str) -> ChallengeOut:
    user = current_user(request)
    challenge = catalogue.get(challenge_id)
    if user.is_staff_user:
        require_permission(user, CHALLENGES_VIEW)
        return _out(challenge, staff=True)
    client = getattr(user, "client", None)  # another group's challenge is not found
    return _out(offering.offered_to(challenge.pk, client).challenge, staff=False)
