"""What the worker keeps beside django-tasks' queue table: who is alive, and every attempt
that did not succeed (its error), so that staff see why a job waits or gave up."""

from __future__ import annotations

from django.db import models


class WorkerProcess(models.Model):
    """A running `propdesk worker`. It beats (`seen_at`) while alive, also while a long job
    runs; a job RUNNING under a worker not seen for a lease is taken as abandoned."""

    worker_id = models.CharField(max_length=64, unique=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.worker_id


class Attempt(models.Model):
    """One try of a job that did not succeed: it failed, or its worker vanished under it."""

    class Outcome(models.TextChoices):
        FAILED = "failed", "Failed"
        ABANDONED = "abandoned", "Abandoned (the worker stopped)"

    result = models.ForeignKey(
        "django_tasks_database.DBTaskResult", on_delete=models.CASCADE, related_name="attempts"
    )
    number = models.PositiveIntegerField()
    worker_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error_class = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500, blank=True)
    traceback = models.TextField(blank=True)
    # When the job was put back to run again; empty when this attempt was the last.
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["result", "number", "id"]
        indexes = [models.Index(fields=["result", "number"])]

    def __str__(self) -> str:
        return f"{self.result_id} #{self.number} {self.outcome}"
