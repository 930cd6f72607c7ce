"""Products, SKUs and product collections (reference §3.7)."""

from ninja import Router

router = Router(tags=["products"])
