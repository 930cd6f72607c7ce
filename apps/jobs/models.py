from django.conf import settings
from django.db import models

from apps.core.models import ProjectScopedModel, PublicIdField


class JobStatus(models.TextChoices):
    # Voucherify's async action statuses.
    ENQUEUED = "ENQUEUED", "Enqueued"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    DONE = "DONE", "Done"
    FAILED = "FAILED", "Failed"


class Job(ProjectScopedModel):
    """A long operation (import, export, generation, recompute, send), shown with a progress bar
    in the dashboard and exposed as an async action (`aa_…`) by the API."""

    public_id = PublicIdField(prefix="aa")
    type = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.ENQUEUED)
    total = models.PositiveBigIntegerField(null=True, blank=True)
    processed = models.PositiveBigIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["project", "-created_at"], name="job_project_recent")]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def progress(self) -> int:
        """Percent done, 0 to 100."""
        if self.status == JobStatus.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, self.processed * 100 // self.total)

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None
