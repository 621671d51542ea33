"""Real local servers that play the providers in notification tests.

`HTTPReceiver` is a threaded HTTP server on a loopback address that records
every request and answers as told, per path. `SMTPReceiver` is an aiosmtpd
server that records every message and can answer with a given SMTP reply.
Both listen on a free port of 127.0.0.1 unless told otherwise; the fixtures
in `conftest.py` start and stop them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class Answer:
    """How the receiver answers one request.

    `body` may be bytes, text, or anything JSON-serialisable (sent as JSON
    with its content type). `delay` is how long to wait before answering,
    in seconds: longer than the client's timeout makes it time out.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        """Return the body as bytes and the headers to send with it."""
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            return self.body, headers
        if isinstance(self.body, str):
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            return self.body.encode(), headers
        headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode(), headers


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: httpx.Headers  # case-insensitive
    body: bytes
    client: tuple[str, int] = ("", 0)  # the connection's far end: (host, port)

    @property
    def json(self) -> Any:
        """Return the body parsed as JSON, or None if it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    @property
    def form(self) -> dict[str, list[str]]:
        """Return the body parsed as an HTML form (what Twilio's API gets)."""
        return parse_qs(self.body.decode(), keep_blank_values=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        receiver = self.server.receiver
        received = Received(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers=httpx.Headers(list(self.headers.items())),
            body=body,
            client=(str(self.client_address[0]), int(self.client_address[1])),
        )
        answer = receiver.record(received)
        if answer.delay and receiver.stopping.wait(answer.delay):
            return  # the test is over: do not answer at all
        content, headers = answer.encoded()
        try:
            self.send_response(answer.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            if not receiver.keep_alive:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(content)
        except OSError:
            pass  # the client gave up (a timeout test): nobody to answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: HTTPReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up; the test asserts what matters."""


class _Server6(_Server):
    address_family = socket.AF_INET6


class HTTPReceiver:
    """A local HTTP server that records requests and answers as told.

    Unless told otherwise with `answer()`, every path answers 200 with an
    empty body. `answer(path, a, b)` answers the next request to `path`
    with `a`, and every later one with `b` (the last answer repeats).
    Each answer closes the connection, unless `keep_alive` is set.
    """

    def __init__(self, host: str = "127.0.0.1", *, keep_alive: bool = False) -> None:
        self.host = host
        self.keep_alive = keep_alive
        self.requests: list[Received] = []
        self.default = Answer()
        self.stopping = threading.Event()
        self._answers: dict[str, deque[Answer]] = defaultdict(deque)
        self._lock = threading.Lock()
        server_class = _Server6 if ":" in host else _Server
        self._server: _Server = server_class((host, 0), _Handler)
        self._server.receiver = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            # A short poll keeps `stop()` (which waits for one poll) fast.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            daemon=True,
        )

    def start(self) -> HTTPReceiver:
        """Start serving in a background thread and return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the port (a later connect is refused)."""
        self.stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def url(self, path: str = "/") -> str:
        """Return the URL of `path` on this server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def answer(self, path: str, *answers: Answer) -> None:
        """Answer requests to `path` with `answers` in turn, the last repeating."""
        with self._lock:
            self._answers[path] = deque(answers)

    def record(self, received: Received) -> Answer:
        """Record one request and return the answer it gets."""
        with self._lock:
            self.requests.append(received)
            queue = self._answers.get(received.path)
            if not queue:
                return self.default
            return queue.popleft() if len(queue) > 1 else queue[0]

    def requests_to(self, path: str) -> list[Received]:
        """Return the requests received on `path`, oldest first."""
        return [request for request in self.requests if request.path == path]


@dataclass(frozen=True)
class ReceivedMail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _SMTPHandler:
    def __init__(self, receiver: SMTPReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.receiver.rcpt_reply:
            return self.receiver.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        receiver = self.receiver
        if receiver.delay:
            await asyncio.sleep(receiver.delay)
        if receiver.reply:
            return receiver.reply
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        receiver.messages.append(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                message=message,
            )
        )
        return "250 2.0.0 OK: queued"


class SMTPReceiver:
    """A local SMTP server (aiosmtpd) that records messages.

    Set `reply` (e.g. "451 4.3.0 Try again later") to answer the DATA
    command with it instead of accepting, `rcpt_reply` (e.g. "550 5.1.1 No
    such user") to refuse every recipient; set `delay` (seconds) to answer
    DATA that late.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.messages: list[ReceivedMail] = []
        self.reply = ""
        self.rcpt_reply = ""
        self.delay = 0.0
        self._controller = Controller(
            _SMTPHandler(self), hostname=host, port=self.port, ready_timeout=5
        )
        self._running = False

    def start(self) -> SMTPReceiver:
        """Start serving in a background thread and return self."""
        self._controller.start()
        self._running = True
        return self

    def stop(self) -> None:
        """Stop serving (a later connect is refused)."""
        if self._running:
            self._running = False
            self._controller.stop()


@dataclass(frozen=True)
class TwilioAPI:
    """Where the Twilio transports will call, on the local receiver."""

    account_sid: str
    auth_token: str
    from_number: str
    receiver: HTTPReceiver

    @property
    def messages_path(self) -> str:
        """Return the path of the Messages resource."""
        return f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"

    @property
    def calls_path(self) -> str:
        """Return the path of the Calls resource."""
        return f"/2010-04-01/Accounts/{self.account_sid}/Calls.json"


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port of `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
