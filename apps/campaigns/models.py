"""Campaigns, their vouchers (codes), promotion tiers and stacks, categories, templates,
publications and the gift/loyalty card ledger. Enum values are Voucherify's, as the API emits
them.

Money is integer minor units; `discount` is Voucherify's Discount object as JSON (validated by
apps.campaigns.discounts), so the API can pass it through and the engine can read it.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import MetadataModel, ProjectScopedModel, PublicIdField


class CampaignType(models.TextChoices):
    DISCOUNT_COUPONS = "DISCOUNT_COUPONS", "Discount coupons"
    GIFT_VOUCHERS = "GIFT_VOUCHERS", "Gift cards"
    REFERRAL_PROGRAM = "REFERRAL_PROGRAM", "Referral program"
    LOYALTY_PROGRAM = "LOYALTY_PROGRAM", "Loyalty program"
    PROMOTION = "PROMOTION", "Promotion"


class CampaignMode(models.TextChoices):
    # Voucherify's `type` of a campaign
    AUTO_UPDATE = "AUTO_UPDATE", "Auto-update (codes generated as they are published)"
    STATIC = "STATIC", "Static (a fixed set of codes)"
    STANDALONE = "STANDALONE", "Standalone (single vouchers)"


class VoucherType(models.TextChoices):
    DISCOUNT_VOUCHER = "DISCOUNT_VOUCHER", "Discount"
    GIFT_VOUCHER = "GIFT_VOUCHER", "Gift card"
    LOYALTY_CARD = "LOYALTY_CARD", "Loyalty card"


class CreationStatus(models.TextChoices):
    DONE = "DONE", "Done"
    IN_PROGRESS = "IN_PROGRESS", "In progress"
    FAILED = "FAILED", "Failed"
    DRAFT = "DRAFT", "Draft"
    MODIFYING = "MODIFYING", "Modifying"


class StackingType(models.TextChoices):
    JOINT = "JOINT", "Joint (combines with other categories)"
    EXCLUSIVE = "EXCLUSIVE", "Exclusive (only this category applies)"


class Category(ProjectScopedModel):
    public_id = PublicIdField(prefix="cat")
    name = models.CharField(max_length=255)
    hierarchy = models.PositiveIntegerField(default=1)
    stacking_rules_type = models.CharField(
        max_length=16, choices=StackingType.choices, default=StackingType.JOINT
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="category_unique_name")
        ]
        ordering = ["hierarchy", "name"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class Validity(models.Model):
    """When a campaign, voucher or tier may be used (Voucherify's validity fields)."""

    start_date = models.DateTimeField(null=True, blank=True)
    expiration_date = models.DateTimeField(null=True, blank=True)
    # {"interval": "P2D", "duration": "PT1H"}: active for `duration` every `interval`
    validity_timeframe = models.JSONField(null=True, blank=True)
    validity_day_of_week = models.JSONField(null=True, blank=True)  # [0..6], 0 = Sunday
    # {"daily": [{"start_time": "HH:mm", "expiration_time": "HH:mm", "days_of_week": [..]}]}
    validity_hours = models.JSONField(null=True, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        abstract = True


class Campaign(ProjectScopedModel, MetadataModel, Validity):
    public_id = PublicIdField(prefix="camp")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    campaign_type = models.CharField(max_length=24, choices=CampaignType.choices)
    type = models.CharField(
        max_length=16, choices=CampaignMode.choices, default=CampaignMode.STATIC
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    # The voucher template every code of the campaign starts from.
    voucher_type = models.CharField(
        max_length=24, choices=VoucherType.choices, default=VoucherType.DISCOUNT_VOUCHER
    )
    discount = models.JSONField(null=True, blank=True)
    gift_amount = models.BigIntegerField(null=True, blank=True, help_text="minor units")
    gift_effect = models.CharField(max_length=32, blank=True)
    loyalty_points = models.BigIntegerField(null=True, blank=True)
    redemption_quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text="redemptions per code; empty = unlimited"
    )
    # {"length": 8, "charset": "...", "prefix": "", "postfix": "", "pattern": "SPRING-####"}
    code_config = models.JSONField(default=dict, blank=True)
    vouchers_count = models.PositiveIntegerField(default=0)
    activity_duration_after_publishing = models.CharField(max_length=32, blank=True)
    join_once = models.BooleanField(default=False)
    auto_join = models.BooleanField(default=False)
    creation_status = models.CharField(
        max_length=16, choices=CreationStatus.choices, default=CreationStatus.DONE
    )
    vouchers_generation_status = models.CharField(
        max_length=16, choices=CreationStatus.choices, default=CreationStatus.DONE
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="campaign_unique_name")
        ]
        indexes = [models.Index(fields=["project", "-created_at"], name="campaign_recent")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_referral(self) -> bool:
        return self.campaign_type == CampaignType.REFERRAL_PROGRAM


class Voucher(ProjectScopedModel, MetadataModel, Validity):
    """A code. `code_key` is what uniqueness and lookups use: the code itself, or its upper
    case in projects whose codes ignore case."""

    # A campaign may hold a million codes, and every index and constraint is paid for by code
    # generation: the foreign keys rely on the composite indexes instead of their own, and have
    # no database constraint (PostgreSQL checks one per row, which cost more than writing the
    # row). Django still applies on_delete; only services write these columns, and deleting a
    # campaign removes its codes explicitly (services.campaign_delete).
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        related_name="campaigns_voucher_set",
        db_index=False,
        db_constraint=False,
    )
    # unique through Meta.constraints: no LIKE index beside the unique one
    public_id = PublicIdField(prefix="v", unique=False)
    code = models.CharField(max_length=100)
    code_key = models.CharField(max_length=100)
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="vouchers",
        db_index=False,
        db_constraint=False,
    )
    category = models.ForeignKey(
        Category,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="vouchers",
        db_index=False,
        db_constraint=False,
    )
    type = models.CharField(max_length=24, choices=VoucherType.choices)
    discount = models.JSONField(null=True, blank=True)
    gift_amount = models.BigIntegerField(null=True, blank=True, help_text="lifetime credits")
    gift_balance = models.BigIntegerField(null=True, blank=True)
    gift_effect = models.CharField(max_length=32, blank=True)
    loyalty_points = models.BigIntegerField(null=True, blank=True, help_text="lifetime points")
    loyalty_balance = models.BigIntegerField(null=True, blank=True)
    redemption_quantity = models.PositiveIntegerField(null=True, blank=True)
    redeemed_quantity = models.PositiveIntegerField(default=0)
    holder = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="vouchers",
        db_index=False,
        db_constraint=False,
    )
    published_at = models.DateTimeField(null=True, blank=True)
    is_referral_code = models.BooleanField(default=False)
    additional_info = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "code_key"], name="voucher_unique_code"),
            models.UniqueConstraint(fields=["public_id"], name="voucher_unique_public_id"),
            models.CheckConstraint(
                condition=Q(gift_balance__isnull=True) | Q(gift_balance__gte=0),
                name="voucher_gift_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(loyalty_balance__isnull=True) | Q(loyalty_balance__gte=0),
                name="voucher_loyalty_balance_not_negative",
            ),
        ]
        indexes = [
            # ascending: new codes append at the index's right edge (PostgreSQL's fast path for
            # rightmost inserts); newest-first lists scan it backwards just as fast
            models.Index(fields=["campaign", "id"], name="voucher_campaign_id"),
            # publication picks the campaign's oldest active code nobody holds
            models.Index(
                fields=["campaign", "id"],
                condition=Q(holder__isnull=True, active=True),
                name="voucher_unpublished",
            ),
            models.Index(
                fields=["holder"], condition=Q(holder__isnull=False), name="voucher_holder"
            ),
            models.Index(
                fields=["category"], condition=Q(category__isnull=False), name="voucher_category"
            ),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.code


class TransactionType(models.TextChoices):
    CREDITS_ADDITION = "CREDITS_ADDITION", "Credits added"
    CREDITS_REMOVAL = "CREDITS_REMOVAL", "Credits removed"
    CREDITS_REDEMPTION = "CREDITS_REDEMPTION", "Credits redeemed"
    CREDITS_REFUND = "CREDITS_REFUND", "Credits refunded"
    POINTS_ADDITION = "POINTS_ADDITION", "Points added"
    POINTS_REMOVAL = "POINTS_REMOVAL", "Points removed"
    POINTS_REDEMPTION = "POINTS_REDEMPTION", "Points redeemed"
    POINTS_REFUND = "POINTS_REFUND", "Points refunded"


class VoucherTransaction(ProjectScopedModel):
    """One change of a gift card's credits or a loyalty card's points. The ledger of a card
    always sums to its balance: both are written in one transaction, under the voucher's lock."""

    public_id = PublicIdField(prefix="vtx")
    voucher = models.ForeignKey(Voucher, on_delete=models.CASCADE, related_name="transactions")
    type = models.CharField(max_length=24, choices=TransactionType.choices)
    amount = models.BigIntegerField(help_text="signed: credits (minor units) or points")
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=500, blank=True)
    source_id = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["voucher", "-id"], name="voucher_tx_recent")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} on {self.voucher_id}"


class PromotionTier(ProjectScopedModel, MetadataModel, Validity):
    public_id = PublicIdField(prefix="promo")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=255)
    banner = models.CharField(max_length=500, blank=True)
    discount = models.JSONField()  # Voucherify's action.discount
    hierarchy = models.PositiveIntegerField(default=1)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="tiers"
    )

    class Meta:
        ordering = ["hierarchy", "id"]

    def __str__(self) -> str:
        return self.name


class PromotionStack(ProjectScopedModel):
    """Up to 30 tiers of one promotion campaign, applied together in the stored order."""

    MAX_TIERS = 30

    public_id = PublicIdField(prefix="stack")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="stacks")
    name = models.CharField(max_length=255)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="stacks"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "name"], name="stack_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class StackTier(models.Model):
    stack = models.ForeignKey(PromotionStack, on_delete=models.CASCADE, related_name="entries")
    tier = models.ForeignKey(PromotionTier, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["stack", "tier"], name="stack_tier_once"),
            models.UniqueConstraint(fields=["stack", "position"], name="stack_tier_position"),
        ]
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.stack_id}#{self.position}"


class CampaignTemplate(ProjectScopedModel):
    """A campaign's configuration, saved to start new campaigns or promotion tiers from."""

    public_id = PublicIdField(prefix="camptpl")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    campaign_type = models.CharField(max_length=24, choices=CampaignType.choices)
    config = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="campaign_template_unique")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PublicationChannel(models.TextChoices):
    API = "API", "API"
    DASHBOARD = "voucherify-website", "Dashboard"
    SEGMENT = "segment", "Segment publication"
    DISTRIBUTION = "distribution", "Distribution"


class Publication(ProjectScopedModel, MetadataModel):
    """Codes given to a customer. `source_id`, when set, makes the request idempotent."""

    public_id = PublicIdField(prefix="pub")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="publications"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="publications"
    )
    vouchers = models.ManyToManyField(Voucher, related_name="publications")
    source_id = models.CharField(max_length=255, null=True, blank=True)
    channel = models.CharField(
        max_length=32, choices=PublicationChannel.choices, default=PublicationChannel.API
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source_id"],
                condition=Q(source_id__isnull=False),
                name="publication_unique_source_id",
            )
        ]
        indexes = [models.Index(fields=["project", "-created_at"], name="publication_recent")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.public_id
