from django.db import models
from django.db.models import Q

from apps.core.models import MetadataModel, ProjectScopedModel, PublicIdField


class OrderStatus(models.TextChoices):
    CREATED = "CREATED", "Created"
    PAID = "PAID", "Paid"
    CANCELED = "CANCELED", "Canceled"
    FULFILLED = "FULFILLED", "Fulfilled"


# Orders that count in a customer's summary.orders.
COUNTED_STATUSES = (OrderStatus.PAID, OrderStatus.FULFILLED)


class Order(ProjectScopedModel, MetadataModel):
    """An order (`ord_…`). Amounts are minor units and follow Voucherify's formulas:
    total_discount_amount = discount_amount + items_discount_amount;
    total_amount = amount - total_discount_amount."""

    # project and customer lead the composite indexes below, which serve their look-ups and
    # cascades: no index of their own (each index costs every order written).
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        related_name="orders_order_set",
        db_index=False,
    )
    public_id = PublicIdField(prefix="ord")
    source_id = models.CharField(max_length=255, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.CREATED
    )
    amount = models.BigIntegerField(default=0, help_text="minor units")
    initial_amount = models.BigIntegerField(null=True, blank=True, help_text="minor units")
    discount_amount = models.BigIntegerField(default=0, help_text="minor units")
    items_discount_amount = models.BigIntegerField(default=0, help_text="minor units")
    total_discount_amount = models.BigIntegerField(default=0, help_text="minor units")
    total_amount = models.BigIntegerField(default=0, help_text="minor units")
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="orders",
        db_index=False,
    )
    referrer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # order_referrer, partial: most orders have none
    )
    imported = models.BooleanField(default=False, help_text="Historical import: triggers nothing.")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source_id"],
                condition=Q(source_id__isnull=False),
                name="order_unique_source_id",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="order_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["project", "-created_at", "-id"], name="order_recent"),
            models.Index(fields=["customer", "status"], name="order_customer_status"),
            models.Index(
                fields=["referrer"], condition=Q(referrer__isnull=False), name="order_referrer"
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.source_id or self.public_id


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    related_object = models.CharField(max_length=8, default="product")  # product | sku
    product = models.ForeignKey(
        "products.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sku = models.ForeignKey(
        "products.Sku",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # order_item_sku, partial: most lines are products
    )
    source_id = models.CharField(max_length=255, blank=True, help_text="Product/SKU source_id")
    name = models.CharField(max_length=255, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    price = models.BigIntegerField(null=True, blank=True, help_text="minor units")
    amount = models.BigIntegerField(default=0, help_text="minor units")
    discount_amount = models.BigIntegerField(default=0, help_text="minor units")
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "position"]
        indexes = [
            # A btree holds NULLs too: every product line wrote an entry nothing looks up
            models.Index(fields=["sku"], condition=Q(sku__isnull=False), name="order_item_sku")
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name or self.source_id}"


class OrderEvent(ProjectScopedModel):
    """An order status change (`order.created`, `order.paid`, ...). Distributions and earning
    rules consume these later; imported (historical) orders record theirs as `imported`."""

    # project leads order_event_type below: no index of its own
    project = models.ForeignKey(
        "projects.Project",
        on_delete=models.CASCADE,
        related_name="orders_orderevent_set",
        db_index=False,
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    type = models.CharField(max_length=32)
    imported = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "type", "-created_at"], name="order_event_type")]

    def __str__(self) -> str:
        return f"{self.type} {self.order_id}"
