"""Metadata schemas (reference §2): list and get."""

from ninja import Router

router = Router(tags=["metadata schemas"])
