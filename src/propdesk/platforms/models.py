"""The trading servers a firm connects to (Settings > Trading platforms)."""

from __future__ import annotations

from django.db import models


class TradingServer(models.Model):
    """One connection to a trading platform, with the groups its accounts are opened in."""

    class Kind(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox (built in)"

    name = models.CharField(max_length=60, unique=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SANDBOX)
    demo_groups = models.JSONField(default=list, help_text="Groups for demo (challenge) stages")
    live_groups = models.JSONField(default=list, help_text="Groups for live (funded) stages")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def groups(self) -> list[str]:
        return [*self.demo_groups, *self.live_groups]
