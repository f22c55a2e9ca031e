"""The challenge catalogue: a challenge, and its versions (the rules a participant starts with
are the version's, and a published version is never changed, only superseded)."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models


class Challenge(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ENDED = "ended", "Ended"

    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        Status.DRAFT: frozenset({Status.PUBLISHED, Status.ENDED}),
        Status.PUBLISHED: frozenset({Status.ENDED}),
        Status.ENDED: frozenset(),
    }

    name = models.CharField(max_length=100)  # the current version's, for lists
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def published(self) -> ChallengeVersion | None:
        return self.versions.filter(state=ChallengeVersion.State.PUBLISHED).first()

    def draft(self) -> ChallengeVersion | None:
        return self.versions.filter(state=ChallengeVersion.State.DRAFT).first()


class ChallengeVersion(models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        SUPERSEDED = "superseded", "Superseded"

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    # The whole definition, cleaned (catalogue.clean_definition): name, currency, tags, time
    # zone, fee, payment ways, client groups, progression, platform and stages with rules.
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["challenge", "number"]
        constraints = [
            models.UniqueConstraint(fields=["challenge", "number"], name="challenge_version_once"),
            models.UniqueConstraint(
                fields=["challenge"],
                condition=models.Q(state="draft"),
                name="challenge_one_draft",
            ),
            models.UniqueConstraint(
                fields=["challenge"],
                condition=models.Q(state="published"),
                name="challenge_one_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.challenge} v{self.number} ({self.state})"

    @property
    def stages(self) -> list[dict[str, Any]]:
        stages: list[dict[str, Any]] = self.definition["stages"]
        return stages
