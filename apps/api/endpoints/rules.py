"""Validation rules and their assignments (reference §3.6)."""

from ninja import Router

router = Router(tags=["validation rules"])
