import secrets

from django.db import models
from django.db.models import Q

from apps.core.models import ProjectScopedModel, PublicIdField


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Webhook(ProjectScopedModel):
    """A URL subscribed to some of the project's events. Payloads are signed with `secret`;
    after a rotation the `previous_secret` signs too until `previous_secret_expires_at`, so
    receivers can switch without losing a delivery."""

    public_id = PublicIdField(prefix="wh")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=255, blank=True)
    events = models.JSONField(default=list, blank=True, help_text="Event types; empty: all.")
    active = models.BooleanField(default=True)
    secret = models.CharField(max_length=80, default=new_secret)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # failed attempts in a row, any delivery; a success resets it
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_reason = models.CharField(max_length=255, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.url

    def listens_to(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class DeliveryStatus(models.TextChoices):
    PENDING = "PENDING", "Pending"
    DELIVERED = "DELIVERED", "Delivered"
    FAILED = "FAILED", "Failed"


class WebhookDelivery(ProjectScopedModel):
    """One event for one webhook. `event_id` is the same for every webhook that gets the event;
    (webhook, event_id) is unique, so a repeated dispatch never sends twice."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=40)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # a worker holds the delivery until then; a crashed worker's claim simply runs out
    claimed_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    response_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "event_id"], name="webhook_delivery_once")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="PENDING"),
                name="webhook_delivery_due",
            ),
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.webhook_id} ({self.status})"
