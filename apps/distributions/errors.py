class DeliveryError(Exception):
    """A message was not delivered. `permanent`: retrying cannot help (an SMTP 550, an HTTP
    400); otherwise it is retried with backoff. `connection`: the transport itself failed (the
    rest of the batch would fail the same way)."""

    def __init__(self, reason: str, *, permanent: bool = False, connection: bool = False):
        super().__init__(reason)
        self.reason = reason[:500]
        self.permanent = permanent
        self.connection = connection


class HandoverRefused(Exception):
    """The delivery's claim was lost (another worker took it over): the message is abandoned
    before it is handed over."""
