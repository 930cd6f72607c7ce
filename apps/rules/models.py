"""Validation rules (`val_…`) in Voucherify's structure, and their assignments (`asgm_…`) to
campaigns, vouchers and promotion tiers."""

from django.db import models
from django.db.models import Q

from apps.core.models import ProjectScopedModel, PublicIdField


class RuleType(models.TextChoices):
    BASIC = "basic", "Basic"
    ADVANCED = "advanced", "Advanced"
    COMPLEX = "complex", "Complex"
    EXPRESSION = "expression", "Expression"


class ValidationRule(ProjectScopedModel):
    """`rules` is Voucherify's dict: {"1": {name, conditions, property?, rules?, error?}, ...,
    "logic": "1 and 2"}. `applicable_to` is {"included": [...], "excluded": [...],
    "included_all": bool}. Both are checked by services.clean_rules before they are stored."""

    public_id = PublicIdField(prefix="val")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=RuleType.choices, default=RuleType.ADVANCED)
    context_type = models.CharField(max_length=64, default="global")
    rules = models.JSONField(default=dict)
    error_message = models.CharField(max_length=500, blank=True)
    applicable_to = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="validation_rule_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RelatedObject(models.TextChoices):
    CAMPAIGN = "campaign", "Campaign"
    VOUCHER = "voucher", "Voucher"
    PROMOTION_TIER = "promotion_tier", "Promotion tier"


class RuleAssignment(ProjectScopedModel):
    """A rule attached to exactly one campaign, voucher or promotion tier."""

    public_id = PublicIdField(prefix="asgm")
    rule = models.ForeignKey(ValidationRule, on_delete=models.CASCADE, related_name="assignments")
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rule_assignments",
    )
    # Vouchers carry no database constraints (see campaigns.Voucher); Django cascades.
    voucher = models.ForeignKey(
        "campaigns.Voucher",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rule_assignments",
        db_index=False,
        db_constraint=False,
    )
    tier = models.ForeignKey(
        "campaigns.PromotionTier",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="rule_assignments",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(campaign__isnull=False, voucher__isnull=True, tier__isnull=True)
                | Q(campaign__isnull=True, voucher__isnull=False, tier__isnull=True)
                | Q(campaign__isnull=True, voucher__isnull=True, tier__isnull=False),
                name="rule_assignment_one_object",
            ),
            models.UniqueConstraint(fields=["rule", "campaign"], name="rule_assignment_campaign"),
            models.UniqueConstraint(fields=["rule", "voucher"], name="rule_assignment_voucher"),
            models.UniqueConstraint(fields=["rule", "tier"], name="rule_assignment_tier"),
        ]
        indexes = [
            models.Index(
                fields=["voucher"], condition=Q(voucher__isnull=False), name="asgm_voucher"
            ),
        ]
        ordering = ["id"]

    @property
    def related_object_type(self) -> str:
        if self.campaign_id:
            return RelatedObject.CAMPAIGN
        if self.voucher_id:
            return RelatedObject.VOUCHER
        return RelatedObject.PROMOTION_TIER

    @property
    def related_object(self):
        return self.campaign or self.voucher or self.tier

    def __str__(self) -> str:
        return f"{self.rule} → {self.related_object}"
