"""The application error: a business rule said no.

Views show it as a message; the API maps it to Voucherify's error object
`{code, key, message, details, request_id}`. `key` is a stable machine code from Voucherify's
error reference (`not_found`, `invalid_payload`, `quantity_exceeded`, ...).
"""

from typing import Any


class ApplicationError(Exception):
    def __init__(
        self,
        message: str,
        *,
        key: str = "invalid_payload",
        code: int = 400,
        details: str = "",
        extra: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.key = key
        self.code = code
        self.details = details
        self.extra = extra or {}

    def as_dict(self, *, request_id: str = "") -> dict[str, Any]:
        return {
            "code": self.code,
            "key": self.key,
            "message": self.message,
            "details": self.details,
            "request_id": request_id,
            **self.extra,
        }
