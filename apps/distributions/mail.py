"""SMTP with a hand-over hook: the delivery is recorded as SENT in the instant before the final
"." of the DATA command is written. The server only accepts a message when that dot arrives, so
a worker killed at any other moment either has not sent the message (the row is still SENDING
and is sent again) or has recorded it (the row is SENT). On PostgreSQL the record is sent
without waiting for its answer and the dot follows at once (`_Handover.begin`/`finish` in
sending.py), so only the system call between the two writes is left uncovered. A refused
hand-over (the claim was lost) drops the connection instead, and the server discards the
half-sent message.

`email_connection()` is Django's configured email backend; when that is Django's SMTP backend,
it is this subclass of it (same settings), so tests and development backends (locmem, console)
work unchanged, recording SENT right after the backend returns.
"""

import functools
import secrets
import smtplib
import socket

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.core.mail.message import sanitize_address

from .errors import HandoverRefused

DJANGO_SMTP = "django.core.mail.backends.smtp.EmailBackend"
CRLF = b"\r\n"


class _HandoverMixin:
    handover = None  # callable -> bool, set per message by the sender

    def _get_socket(self, host, port, timeout):
        sock = super()._get_socket(host, port, timeout)
        # every command is a small write: without this, Nagle's algorithm holds each one until
        # the server's delayed ACK (up to 40 ms a message)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def data(self, msg):
        handover = self.handover
        if handover is None:
            return super().data(msg)
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        if isinstance(msg, str):
            msg = smtplib._fix_eols(msg).encode("ascii")
        body = smtplib._quote_periods(msg)
        if body[-2:] != CRLF:
            body += CRLF
        self.send(body)
        if getattr(handover, "begin", None) is not None and handover.begin():
            # two phases: the SENT record is on its way; the final dot follows at once
            try:
                self.send(b"." + CRLF)
            finally:
                handover.finish()
            return self.getreply()
        try:
            accepted = handover()
        except BaseException:
            self.close()  # no final dot: the server drops the message
            raise
        if not accepted:
            self.close()
            raise HandoverRefused()
        self.send(b"." + CRLF)
        return self.getreply()


class HandoverSMTP(_HandoverMixin, smtplib.SMTP):
    pass


class HandoverSMTPSSL(_HandoverMixin, smtplib.SMTP_SSL):
    pass


class EmailBackend(DjangoSMTPBackend):
    @property
    def connection_class(self):
        return HandoverSMTPSSL if self.use_ssl else HandoverSMTP

    @functools.lru_cache(maxsize=8)  # noqa: B019 - a handful of senders per backend
    def _sender(self, from_email: str, encoding: str) -> str:
        return sanitize_address(from_email, encoding)

    def _send(self, email_message):
        """Django's `_send`, with the sender's address parsed once per backend instead of once
        per message (thousands of messages share one sender)."""
        if not email_message.recipients():
            return False
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = self._sender(email_message.from_email, encoding)
        recipients = [sanitize_address(addr, encoding) for addr in email_message.recipients()]
        message = email_message.message()
        try:
            self.connection.sendmail(from_email, recipients, message.as_bytes(linesep="\r\n"))
        except smtplib.SMTPException:
            if not self.fail_silently:
                raise
            return False
        return True

    def set_handover(self, handover) -> bool:
        """Arm the hook for the next message; False when the backend could not open."""
        if self.connection is None:
            return False
        self.connection.handover = handover
        return True


def email_connection():
    backend = settings.EMAIL_BACKEND
    if backend == DJANGO_SMTP:
        backend = f"{__name__}.EmailBackend"
    return get_connection(backend=backend, fail_silently=False)


class DistributionEmail(EmailMultiAlternatives):
    """EmailMultiAlternatives with its MIME boundary chosen up front: the standard library's
    generator otherwise compiles a regular expression per message to pick one (a sixth of the
    cost of building a message). 32 random hex digits never occur in a body by chance."""

    def message(self):
        msg = super().message()
        if msg.is_multipart():
            msg.set_boundary(f"=={secrets.token_hex(16)}==")
        return msg
