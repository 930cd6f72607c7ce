"""The three channels behind one interface: `send(delivery, message, context, handover)`.

Each sender keeps its connection for a whole batch (one SMTP connection per batch of
emails), translates transport failures into DeliveryError (permanent or transient), and calls
`handover()` in the instant before the message is handed over for good (mail.py, http.py):
`handover()` records the delivery as SENT and returns False if the claim was lost.
"""

import contextlib
import smtplib
import time

from django.conf import settings
from django.core.cache import caches

from . import http, mail, sms
from .errors import DeliveryError, HandoverRefused
from .models import Channel


def _smtp_code(exc: smtplib.SMTPException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return codes[0] if codes else None
    return getattr(exc, "smtp_code", None)


def _smtp_reason(exc: smtplib.SMTPException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = [
            f"SMTP {code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
            for code, reply in exc.recipients.values()
        ]
        return "; ".join(parts) or "Recipient refused"
    code, reply = getattr(exc, "smtp_code", None), getattr(exc, "smtp_error", b"")
    if isinstance(reply, bytes):
        reply = reply.decode(errors="replace")
    return f"SMTP {code} {reply}".strip() if code else f"{type(exc).__name__}: {exc}"


class EmailSender:
    def __init__(self, *, from_email: str | None = None):
        self.from_email = from_email or settings.DISTRIBUTION_FROM_EMAIL
        self.backend = None

    def _open(self):
        if self.backend is None:
            backend = mail.email_connection()
            try:
                backend.open()
            except (OSError, smtplib.SMTPException) as exc:
                raise DeliveryError(
                    f"Cannot connect to the mail server: {exc}", connection=True
                ) from exc
            self.backend = backend
        return self.backend

    def close(self):
        if self.backend is not None:
            with contextlib.suppress(Exception):  # the connection is dropped either way
                self.backend.close()
            self.backend = None

    def build(self, *, to: str, message, headers: dict) -> mail.DistributionEmail:
        email = mail.DistributionEmail(
            message.subject, message.text, self.from_email, [to], headers=headers
        )
        if message.html:
            email.attach_alternative(message.html, "text/html")
        return email

    def send(self, email: mail.DistributionEmail, handover) -> None:
        backend = self._open()
        hooked = isinstance(backend, mail.EmailBackend) and backend.set_handover(handover)
        if not hooked and not handover():  # development backends: record, then send
            raise HandoverRefused()
        try:
            sent = backend.send_messages([email])
        except HandoverRefused:
            self.close()
            raise
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
            self.close()
            raise DeliveryError(_smtp_reason(exc), connection=True) from exc
        except smtplib.SMTPException as exc:
            code = _smtp_code(exc)
            if code == 421:
                self.close()
            raise DeliveryError(_smtp_reason(exc), permanent=bool(code and code >= 500)) from exc
        except OSError as exc:
            self.close()
            raise DeliveryError(f"{type(exc).__name__}: {exc}", connection=True) from exc
        finally:
            if hooked and self.backend is not None and self.backend.connection is not None:
                self.backend.connection.handover = None
        if not sent:
            raise DeliveryError("The mail backend did not send the message.")


class SmsSender:
    def __init__(self):
        self.provider = sms.provider()

    def send(self, *, to: str, body: str, handover) -> None:
        self.provider.send(to=to, body=body, handover=handover)

    def close(self):
        pass


class WebhookSender:
    def __init__(self, url: str):
        self.url = url

    def send(self, *, payload: dict, headers: dict, handover) -> None:
        http.post_json(
            self.url, payload, headers=headers, handover=handover, timeout=settings.WEBHOOK_TIMEOUT
        )

    def close(self):
        pass


def sender_for(distribution):
    if distribution.channel == Channel.EMAIL:
        return EmailSender()
    if distribution.channel == Channel.SMS:
        return SmsSender()
    return WebhookSender(distribution.webhook_url)


class RateLimiter:
    """At most `DISTRIBUTION_RATE_LIMITS[channel]` messages a second, counted per second in the
    rate-limit cache (Redis in production, so every worker shares one count)."""

    def __init__(self, channel: str):
        self.channel = channel
        self.limit = (getattr(settings, "DISTRIBUTION_RATE_LIMITS", {}) or {}).get(channel)

    def wait(self, *, clock=time.time, sleep=time.sleep) -> None:
        if not self.limit:
            return
        cache = caches[settings.API_RATE_LIMIT_CACHE]
        while True:
            second = int(clock())
            key = f"distributions:rate:{self.channel}:{second}"
            cache.add(key, 0, timeout=5)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.set(key, 1, timeout=5)
                count = 1
            if count <= self.limit:
                return
            sleep(max(0.001, second + 1 - clock()))
