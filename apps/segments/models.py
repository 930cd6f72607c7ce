from django.db import models

from apps.core.models import ProjectScopedModel, PublicIdField


class SegmentType(models.TextChoices):
    # Voucherify's values
    STATIC = "static", "Static"
    AUTO_UPDATE = "auto-update", "Auto-update"
    PASSIVE = "passive", "Passive"


class SyncStatus(models.TextChoices):
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    DONE = "DONE", "Done"


class Segment(ProjectScopedModel):
    """A group of customers: a fixed list (static) or everyone matching `filter` (auto-update,
    which emits entered/left events, and passive, which does not). Members are rows of
    SegmentMember, never a list in a JSON field."""

    public_id = PublicIdField(prefix="seg")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=SegmentType.choices)
    filter = models.JSONField(null=True, blank=True)
    initial_sync_status = models.CharField(
        max_length=16, choices=SyncStatus.choices, default=SyncStatus.DONE
    )
    size = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField(null=True, blank=True)
    # The filter has relative dates or birthdays: recomputed daily (apps.segments.tasks).
    uses_time = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="segment_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def follows_filter(self) -> bool:
        return self.type in (SegmentType.AUTO_UPDATE, SegmentType.PASSIVE)


class SegmentMember(models.Model):
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "customer"], name="segment_member_unique")
        ]
        indexes = [models.Index(fields=["customer"], name="segment_member_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.segment_id}"


class SegmentSize(models.Model):
    """The segment's size at the end of each day it changed, for its chart."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="sizes")
    day = models.DateField()
    size = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "day"], name="segment_size_unique_day")
        ]
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.segment_id} {self.day}: {self.size}"


class SegmentEventType(models.TextChoices):
    ENTERED = "customer.segment.entered", "Entered"
    LEFT = "customer.segment.left", "Left"


class SegmentEvent(ProjectScopedModel):
    """A customer entering or leaving an auto-update segment; distributions, earning rules and
    webhooks consume these."""

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="events")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=32, choices=SegmentEventType.choices)

    class Meta:
        indexes = [
            models.Index(fields=["project", "type", "-created_at"], name="segment_event_recent")
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.customer_id} {self.segment_id}"
