"""Promotion tiers and stacks (reference §2)."""

from ninja import Router

router = Router(tags=["promotions"])
