"""Exports (reference §3.13): create, get, list, delete, download with a token."""

from ninja import Router

router = Router(tags=["exports"])
