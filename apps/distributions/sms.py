"""SMS providers. `SMS_BACKEND` names one:

- `apps.distributions.sms.LogProvider` (the default): writes the message to the log and to
  `outbox` (development and tests);
- `apps.distributions.sms.TwilioProvider`: a Twilio-style REST call, a form-encoded POST of
  To/From/Body with basic auth (`SMS_ACCOUNT_SID`, `SMS_AUTH_TOKEN`) to `SMS_API_URL`, from
  `SMS_FROM`.

`send(to=, body=, handover=)` returns the provider's message id or raises DeliveryError;
`handover()` is called in the instant before the message is handed over for good (see
http.py) and returns False when the message must be abandoned.
"""

import base64
import json
import logging
import urllib.parse

from django.conf import settings
from django.utils.module_loading import import_string

from . import http
from .errors import DeliveryError, HandoverRefused

log = logging.getLogger(__name__)
MAX_LENGTH = 1600  # Twilio's limit for one message body

outbox: list[dict] = []  # LogProvider's messages, for tests and the development console


class SmsProvider:
    def send(self, *, to: str, body: str, handover=None) -> str:
        raise NotImplementedError


class LogProvider(SmsProvider):
    def send(self, *, to: str, body: str, handover=None) -> str:
        if handover is not None and not handover():
            raise HandoverRefused()
        outbox.append({"to": to, "body": body})
        log.info("SMS to %s: %s", to, body)
        return f"log-{len(outbox)}"


class TwilioProvider(SmsProvider):
    def __init__(self):
        self.url = settings.SMS_API_URL
        self.sid = settings.SMS_ACCOUNT_SID
        self.token = settings.SMS_AUTH_TOKEN
        self.sender = settings.SMS_FROM
        if not (self.url and self.sender):
            raise DeliveryError("SMS_API_URL and SMS_FROM must be set.", permanent=True)

    def send(self, *, to: str, body: str, handover=None) -> str:
        form = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body[:MAX_LENGTH]})
        credentials = base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Basic {credentials}",
            "Accept": "application/json",
        }
        _, text = http.post(self.url, form.encode(), headers, handover=handover)
        try:
            return str(json.loads(text).get("sid", ""))
        except (ValueError, AttributeError):
            return ""


def provider() -> SmsProvider:
    return import_string(settings.SMS_BACKEND)()
