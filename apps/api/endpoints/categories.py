"""Categories (reference §2)."""

from ninja import Router

router = Router(tags=["categories"])
