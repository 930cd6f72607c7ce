"""Custom events (reference §3.13): POST /v1/events."""

from ninja import Router

router = Router(tags=["events"])
