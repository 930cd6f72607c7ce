"""Distributions: messages that carry a code of a campaign (or plain promotional content) to
customers by email, SMS or webhook, sent by hand (to a segment, a list, everyone) or when an
event happens (a customer enters a segment, an order is paid, …).

Every message is a Delivery row, unique per (distribution, customer, channel, trigger key): a
retried or duplicated task finds the row and never sends twice or publishes a second code.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import ProjectScopedModel, PublicIdField


class Kind(models.TextChoices):
    MANUAL = "MANUAL", "Manual (send to an audience)"
    AUTOMATIC = "AUTOMATIC", "Automatic (send when something happens)"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WEBHOOK = "webhook", "Webhook"


class Audience(models.TextChoices):
    SEGMENT = "segment", "A segment"
    CUSTOMERS = "customers", "A list of customers"
    ALL = "all", "All customers"


class Trigger(models.TextChoices):
    # the domain event types of apps.core.events
    SEGMENT_ENTERED = "customer.segment.entered", "Customer enters a segment"
    SEGMENT_LEFT = "customer.segment.left", "Customer leaves a segment"
    ORDER_CREATED = "order.created", "Order created"
    ORDER_PAID = "order.paid", "Order paid"
    ORDER_CANCELED = "order.canceled", "Order canceled"
    ORDER_FULFILLED = "order.fulfilled", "Order fulfilled"
    CUSTOM_EVENT = "customer.custom_event", "Custom event"
    PUBLICATION = "publication.succeeded", "Code published"
    REDEMPTION = "redemption.succeeded", "Successful redemption"


SEGMENT_TRIGGERS = (Trigger.SEGMENT_ENTERED, Trigger.SEGMENT_LEFT)


class Status(models.TextChoices):
    DRAFT = "DRAFT", "Draft"
    SCHEDULED = "SCHEDULED", "Scheduled"
    SENDING = "SENDING", "Sending"
    SENT = "SENT", "Sent"
    ACTIVE = "ACTIVE", "Active"
    PAUSED = "PAUSED", "Paused"


class Distribution(ProjectScopedModel):
    public_id = PublicIdField(prefix="distr")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    # where the codes come from; none: a message without a code
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="distributions",
    )
    # manual: who gets it
    audience = models.CharField(
        max_length=16, choices=Audience.choices, default=Audience.SEGMENT, blank=True
    )
    # the audience segment (manual) or the segment whose entries/exits trigger (automatic)
    segment = models.ForeignKey(
        "segments.Segment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="distributions",
    )
    customers = models.ManyToManyField(
        "customers.Customer", blank=True, related_name="+", db_table="distributions_recipient"
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    # automatic: what triggers it
    trigger = models.CharField(max_length=40, choices=Trigger.choices, blank=True)
    custom_event = models.CharField(max_length=255, blank=True, help_text="custom event name")
    delay_minutes = models.PositiveIntegerField(default=0)
    # the message
    subject = models.CharField(max_length=255, blank=True)
    body_html = models.TextField(blank=True)
    body_text = models.TextField(blank=True)
    webhook_url = models.URLField(max_length=500, blank=True)
    # a manual send's job and progress
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    planned_at = models.DateTimeField(null=True, blank=True, help_text="every delivery row made")
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="distribution_recent"),
            models.Index(
                fields=["project", "trigger"],
                condition=Q(status="ACTIVE"),
                name="distribution_listening",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_manual(self) -> bool:
        return self.kind == Kind.MANUAL

    @property
    def can_edit(self) -> bool:
        return self.status in (Status.DRAFT, Status.SCHEDULED, Status.ACTIVE, Status.PAUSED)


class DeliveryStatus(models.TextChoices):
    QUEUED = "QUEUED", "Queued"
    SENDING = "SENDING", "Sending"
    SENT = "SENT", "Sent"
    SKIPPED = "SKIPPED", "Skipped"
    FAILED = "FAILED", "Failed"


MANUAL_TRIGGER = "manual"


class Delivery(ProjectScopedModel):
    """One message to one customer. A worker claims it (QUEUED → SENDING, with a token and an
    expiry) before sending, and marks it SENT in the instant before the message is handed over
    for good; a worker killed while holding it loses the claim when it runs out."""

    distribution = models.ForeignKey(
        Distribution, on_delete=models.CASCADE, related_name="deliveries"
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    trigger_key = models.CharField(max_length=200, default=MANUAL_TRIGGER)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    recipient = models.CharField(max_length=500, blank=True)
    # due (a delayed trigger, a retry); null: now
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    # the code published for this message (kept as text too: a deleted campaign takes the row)
    voucher = models.ForeignKey(
        "campaigns.Voucher",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    code = models.CharField(max_length=100, blank=True)
    error = models.CharField(max_length=500, blank=True, help_text="why it was skipped or failed")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["distribution", "customer", "channel", "trigger_key"],
                name="distribution_delivery_once",
            )
        ]
        indexes = [
            models.Index(
                fields=["distribution", "status", "id"], name="distribution_delivery_status"
            ),
            models.Index(
                fields=["distribution", "id"],
                condition=Q(status__in=["QUEUED", "SENDING"]),
                name="distribution_delivery_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.distribution_id} → {self.customer_id} ({self.status})"
