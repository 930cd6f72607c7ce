"""Loyalty card balance: POST /v1/loyalties/members/{memberId}/balance."""

from ninja import Router

router = Router(tags=["loyalties"])
