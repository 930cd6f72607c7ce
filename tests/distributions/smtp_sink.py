"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives.

In tests, `SmtpSink().start()` runs in a thread of the test process; `refuse` makes it answer a
chosen recipient with an SMTP error at RCPT (e.g. "550 5.1.1 No such user" or "451 4.3.0 Try
later"). The benchmark and the worker-kill test run it as its own process:

    python -m tests.distributions.smtp_sink --port 2525 --log /tmp/sink.log

which appends "recipient<TAB>message-id" for every message to the log file.
"""

import argparse
import asyncio
import email
import email.policy
import logging
import re
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


logging.getLogger("mail.log").setLevel(logging.CRITICAL)  # aiosmtpd: a session ending at EOF


class MtaLikeSMTP(SMTP):
    """aiosmtpd abandons a session the moment the client's end of the stream arrives, even if
    complete commands are still buffered. An MTA such as Postfix reads on: a message whose final
    "." arrived is queued even when the client is gone before the 250 reply. So does this: at
    EOF the session finishes what was received, then ends."""

    def eof_received(self):
        return asyncio.StreamReaderProtocol.eof_received(self)

    def connection_lost(self, error):
        if error is not None:  # a reset: what was in flight is lost, as with any server
            super().connection_lost(error)
            return
        self._timeout_handle.cancel()
        asyncio.StreamReaderProtocol.connection_lost(self, error)  # the reader sees EOF


class SinkController(Controller):
    def factory(self):
        return MtaLikeSMTP(self.handler, **self.SMTP_kwargs)


@dataclass
class Received:
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


@dataclass
class SmtpSink:
    refuse: dict[str, str] = field(default_factory=dict)  # recipient -> SMTP reply
    messages: list[Received] = field(default_factory=list)
    port: int = 0
    controller: Controller | None = None
    log_path: str = ""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.log_path:  # a benchmark's sink: no parsing, one line per message
            found = MESSAGE_ID.search(envelope.content)
            message_id = found.group(1).decode() if found else ""
            with open(self.log_path, "a") as log:
                for rcpt in envelope.rcpt_tos:
                    log.write(f"{rcpt}\t{message_id}\n")
        else:
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.messages.append(Received(list(envelope.rcpt_tos), message))
        return "250 Message accepted"

    def start(self) -> "SmtpSink":
        self.port = self.port or free_port()
        self.controller = SinkController(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    args = parser.parse_args()
    sink = SmtpSink(port=args.port, log_path=args.log).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"listening on 127.0.0.1:{sink.port}", flush=True)
    while not stop.is_set():
        time.sleep(0.2)
    sink.stop()


if __name__ == "__main__":
    main()
