from django.db import models
from django.db.models import Q

from apps.core.models import MetadataModel, ProjectScopedModel, PublicIdField


class Product(ProjectScopedModel, MetadataModel):
    public_id = PublicIdField(prefix="prod")
    source_id = models.CharField(max_length=255, null=True, blank=True)
    name = models.CharField(max_length=255, blank=True)
    price = models.BigIntegerField(null=True, blank=True, help_text="minor units")
    attributes = models.JSONField(default=list, blank=True, help_text="Names of SKU attributes")
    image_url = models.URLField(max_length=2048, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source_id"],
                condition=Q(source_id__isnull=False),
                name="product_unique_source_id",
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="product_price_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["project", "-created_at", "-id"], name="product_recent")]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name or self.source_id or self.public_id


class Sku(ProjectScopedModel, MetadataModel):
    public_id = PublicIdField(prefix="sku")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="skus")
    source_id = models.CharField(max_length=255, null=True, blank=True)
    sku = models.CharField(max_length=255, blank=True, help_text="The SKU's name")
    price = models.BigIntegerField(null=True, blank=True, help_text="minor units")
    attributes = models.JSONField(default=dict, blank=True)
    image_url = models.URLField(max_length=2048, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source_id"],
                condition=Q(source_id__isnull=False),
                name="sku_unique_source_id",
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="sku_price_not_negative"
            ),
        ]
        ordering = ["product", "-created_at", "-id"]

    def __str__(self) -> str:
        return self.sku or self.source_id or self.public_id


class CollectionType(models.TextChoices):
    STATIC = "STATIC", "Static"
    AUTO_UPDATE = "AUTO_UPDATE", "Auto-update"


class ProductCollection(ProjectScopedModel):
    """A named group of products/SKUs: chosen by hand (STATIC) or matched by a filter in SQL."""

    public_id = PublicIdField(prefix="pc")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=16, choices=CollectionType.choices)
    filter = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="collection_unique_name")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    """A product or SKU chosen into a static collection."""

    collection = models.ForeignKey(
        ProductCollection, on_delete=models.CASCADE, related_name="items"
    )
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sku = models.ForeignKey(Sku, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(product__isnull=False, sku__isnull=True)
                | Q(product__isnull=True, sku__isnull=False),
                name="collection_item_product_xor_sku",
            ),
            models.UniqueConstraint(
                fields=["collection", "product"], name="collection_item_product"
            ),
            models.UniqueConstraint(fields=["collection", "sku"], name="collection_item_sku"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id or self.sku_id} in {self.collection_id}"
