"""Redemptions (`r_…`), their rollbacks (`rr_…`) and validation session locks.

A redemption request makes one parent redemption and one child per redeemable; a request with a
single redeemable still gets both, as Voucherify's stackable API reports them. Failed attempts are
recorded too (result FAILURE), so a marketer can see why a checkout was refused.
"""

from django.db import models
from django.db.models import Q

from apps.core.models import MetadataModel, ProjectScopedModel, PublicIdField


class Result(models.TextChoices):
    SUCCESS = "SUCCESS", "Success"
    FAILURE = "FAILURE", "Failure"


class Status(models.TextChoices):
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    ROLLED_BACK = "ROLLED_BACK", "Rolled back"


class ChannelType(models.TextChoices):
    API = "API", "API"
    USER = "USER", "Dashboard user"
    AUTO_REDEEM = "AUTO_REDEEM", "Automatic"


class RelatedObjectType(models.TextChoices):
    VOUCHER = "voucher", "Voucher"
    PROMOTION_TIER = "promotion_tier", "Promotion tier"
    REDEMPTION = "redemption", "Redemption (stack)"


class Redemption(ProjectScopedModel, MetadataModel):
    # Foreign keys marked db_index=False lead one of the composite indexes below, which serve
    # their look-ups and cascades: every redemption writes two rows, and each index costs them.
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        related_name="redemptions_redemption_set",
        db_index=False,
    )
    public_id = PublicIdField(prefix="r")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="children",
        db_index=False,  # redemption_parent, partial: a parent has none
    )
    result = models.CharField(max_length=8, choices=Result.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    related_object_type = models.CharField(max_length=16, choices=RelatedObjectType.choices)
    voucher = models.ForeignKey(
        "campaigns.Voucher",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redemptions",
        db_constraint=False,
        db_index=False,
    )
    tier = models.ForeignKey(
        "campaigns.PromotionTier",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redemptions",
        db_index=False,  # redemption_tier, partial: codes and parents have none
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redemptions",
        db_index=False,
    )
    code = models.CharField(max_length=100, blank=True, help_text="as redeemed")
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redemptions",
        db_index=False,
    )
    tracking_id = models.CharField(max_length=100, blank=True)
    order = models.ForeignKey(
        "orders.Order",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redemptions",
        db_index=False,
    )
    amount = models.BigIntegerField(default=0, help_text="discount given, minor units")
    gift_amount = models.BigIntegerField(default=0, help_text="gift credits used")
    loyalty_points = models.BigIntegerField(default=0, help_text="loyalty points used")
    order_amount = models.BigIntegerField(default=0, help_text="the order amount redeemed on")
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    # The engine's account for this redeemable: status, discount, explanation, applicable lines.
    details = models.JSONField(default=dict, blank=True)
    session_key = models.CharField(max_length=100, blank=True)
    channel_type = models.CharField(max_length=12, choices=ChannelType.choices)
    channel_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["project", "-id"], name="redemption_project"),
            # Partial where most rows hold NULL (a btree stores NULLs too, and every insert paid
            # for entries no query looks up): parents have no campaign, tier or parent.
            models.Index(
                fields=["campaign", "status", "created_at"],
                condition=Q(campaign__isnull=False),
                name="redemption_campaign",
            ),
            models.Index(
                fields=["parent"], condition=Q(parent__isnull=False), name="redemption_parent"
            ),
            models.Index(fields=["tier"], condition=Q(tier__isnull=False), name="redemption_tier"),
            models.Index(
                fields=["customer", "status", "created_at"],
                condition=Q(customer__isnull=False),
                name="redemption_customer",
            ),
            models.Index(
                fields=["voucher", "-id"],
                condition=Q(voucher__isnull=False),
                name="redemption_voucher",
            ),
            models.Index(
                fields=["order"], condition=Q(order__isnull=False), name="redemption_order"
            ),
            # the list's date range and code search (also codes no voucher has: typos, deleted)
            models.Index(fields=["project", "created_at"], name="redemption_created"),
            models.Index(fields=["project", "code"], condition=~Q(code=""), name="redemption_code"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_parent(self) -> bool:
        return self.related_object_type == RelatedObjectType.REDEMPTION


class RedemptionRollback(ProjectScopedModel, MetadataModel):
    public_id = PublicIdField(prefix="rr")
    redemption = models.ForeignKey(Redemption, on_delete=models.CASCADE, related_name="rollbacks")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    result = models.CharField(max_length=8, choices=Result.choices)
    status = models.CharField(
        max_length=12, choices=[("SUCCEEDED", "Succeeded"), ("FAILED", "Failed")]
    )
    reason = models.CharField(max_length=500, blank=True)
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="redemption_rollbacks",
    )
    tracking_id = models.CharField(max_length=100, blank=True)
    amount = models.BigIntegerField(default=0, help_text="discount returned, minor units")
    gift_amount = models.BigIntegerField(default=0, help_text="gift credits returned")
    loyalty_points = models.BigIntegerField(default=0, help_text="loyalty points returned")
    failure_code = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    channel_type = models.CharField(max_length=12, choices=ChannelType.choices)
    channel_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        "auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.public_id


class ValidationSession(ProjectScopedModel):
    """A validation's LOCK on one use of a code until `expires_at`, released by a redemption
    with the same key, by expiry or explicitly. Live = not released and not expired."""

    key = models.CharField(max_length=100)
    voucher = models.ForeignKey(
        "campaigns.Voucher", on_delete=models.CASCADE, related_name="sessions", db_constraint=False
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["voucher", "key"],
                condition=Q(released_at__isnull=True),
                name="session_one_live_per_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["voucher", "expires_at"],
                condition=Q(released_at__isnull=True),
                name="session_live",
            ),
            models.Index(fields=["project", "key"], name="session_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} on {self.voucher_id}"
