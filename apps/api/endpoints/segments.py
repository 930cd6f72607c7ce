"""Segments (reference §3.5): create, get, delete, list."""

from ninja import Router

router = Router(tags=["segments"])
