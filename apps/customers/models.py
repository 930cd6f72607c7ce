from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Upper

from apps.core.models import MetadataModel, ProjectScopedModel, PublicIdField


class Customer(ProjectScopedModel, MetadataModel):
    """A shop's customer. `source_id` is the shop's own id: the upsert key, set once, never changed.

    The `summary` figures are denormalised columns kept current by services (orders, redemptions),
    so segments and lists can filter on them in SQL.
    """

    # The composite indexes below all lead with project, so the FK needs no index of its own;
    # every index costs bulk imports (see bench/README.md).
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        related_name="customers_customer_set",
        db_index=False,
    )
    public_id = PublicIdField(prefix="cust")
    source_id = models.CharField(max_length=255, null=True, blank=True)
    name = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    birthdate = models.DateField(null=True, blank=True)
    description = models.TextField(blank=True)
    address_line_1 = models.CharField(max_length=255, blank=True)
    address_line_2 = models.CharField(max_length=255, blank=True)
    address_city = models.CharField(max_length=128, blank=True)
    address_state = models.CharField(max_length=128, blank=True)
    address_postal_code = models.CharField(max_length=32, blank=True)
    address_country = models.CharField(max_length=128, blank=True)
    # summary.orders — PAID and FULFILLED orders only (minor units)
    orders_total_amount = models.BigIntegerField(default=0, help_text="minor units")
    orders_total_count = models.PositiveIntegerField(default=0)
    orders_average_amount = models.BigIntegerField(default=0, help_text="minor units")
    orders_last_order_amount = models.BigIntegerField(
        null=True, blank=True, help_text="minor units"
    )
    orders_last_order_date = models.DateTimeField(null=True, blank=True)
    # summary.redemptions
    redemptions_total_redeemed = models.PositiveIntegerField(default=0)
    redemptions_total_failed = models.PositiveIntegerField(default=0)
    redemptions_total_succeeded = models.PositiveIntegerField(default=0)
    redemptions_total_rolled_back = models.PositiveIntegerField(default=0)
    redemptions_total_rollback_failed = models.PositiveIntegerField(default=0)
    redemptions_total_rollback_succeeded = models.PositiveIntegerField(default=0)
    gift_redeemed_amount = models.BigIntegerField(default=0, help_text="minor units")
    loyalty_redeemed_points = models.BigIntegerField(default=0)
    loyalty_referred_customers = models.PositiveIntegerField(default=0)
    # The customer withdrew consent to marketing messages: distributions skip them on every
    # channel (set by the unsubscribe link, the dashboard or the API).
    marketing_opt_out = models.BooleanField(default=False, db_default=False)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    # Written by the platform, never by the shop: {"source": "dashboard" | "api" | "import"}.
    system_metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source_id"],
                condition=Q(source_id__isnull=False),
                name="customer_unique_source_id",
            ),
        ]
        indexes = [
            # ascending: new customers append at the right edge (PostgreSQL's fast path for
            # rightmost inserts); the newest-first list scans it backwards just as fast
            models.Index(fields=["project", "created_at", "id"], name="customer_created"),
            # the list filters use iexact, which compiles to UPPER(col) = UPPER(%s)
            models.Index(F("project"), Upper("address_city"), name="customer_city_upper"),
            models.Index(F("project"), Upper("address_country"), name="customer_country_upper"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or self.email or self.source_id or self.public_id

    @property
    def address(self) -> dict:
        return {
            "line_1": self.address_line_1 or None,
            "line_2": self.address_line_2 or None,
            "city": self.address_city or None,
            "state": self.address_state or None,
            "postal_code": self.address_postal_code or None,
            "country": self.address_country or None,
        }


# Profile fields that services, forms and imports read and write (not summaries or ids).
PROFILE_FIELDS = (
    "name",
    "email",
    "phone",
    "birthdate",
    "description",
    "address_line_1",
    "address_line_2",
    "address_city",
    "address_state",
    "address_postal_code",
    "address_country",
    "metadata",
)


class CustomEvent(ProjectScopedModel, MetadataModel):
    """A custom event tracked for a customer (`evcus_…`), e.g. "signed_up" or "left_review"."""

    public_id = PublicIdField(prefix="evcus")
    name = models.CharField(max_length=255)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="events")

    class Meta:
        indexes = [
            models.Index(fields=["customer", "-created_at"], name="custom_event_customer"),
            models.Index(fields=["project", "name", "-created_at"], name="custom_event_name"),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} by {self.customer_id}"


class CustomerErasure(ProjectScopedModel):
    """The receipt of a permanent (GDPR) deletion: what was erased, never who it was."""

    public_id = PublicIdField(prefix="del")
    customer_public_id = models.CharField(max_length=64)
    counts = models.JSONField(default=dict)

    def __str__(self) -> str:
        return f"Erasure of {self.customer_public_id}"
