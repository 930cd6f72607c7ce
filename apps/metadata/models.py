from django.db import models

from apps.core.models import ProjectScopedModel, PublicIdField


class Resource(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    PRODUCT = "product", "Product"
    SKU = "sku", "SKU"
    ORDER = "order", "Order"
    CAMPAIGN = "campaign", "Campaign"
    VOUCHER = "voucher", "Voucher"
    REDEMPTION = "redemption", "Redemption"
    PROMOTION_TIER = "promotion_tier", "Promotion tier"
    PUBLICATION = "publication", "Publication"


class MetadataSchema(ProjectScopedModel):
    """The typed keys allowed in one resource's `metadata` (Voucherify's metadata schema).

    `properties` is `{key: {"type", "array", "optional", "min_length", "max_length", "min", "max",
    "allowed"}}`; see `validation.py`, which every write path calls.
    """

    public_id = PublicIdField(prefix="ms")
    related_object = models.CharField(max_length=32, choices=Resource.choices)
    properties = models.JSONField(default=dict, blank=True)
    allow_defined_only = models.BooleanField(
        default=False, help_text="Refuse metadata keys that the schema does not define."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "related_object"], name="metadata_schema_one_per_resource"
            )
        ]
        ordering = ["related_object"]

    def __str__(self) -> str:
        return f"Metadata schema of {self.get_related_object_display()}"
