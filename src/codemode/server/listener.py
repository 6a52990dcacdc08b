"""uvicorn as the server runs it: its options, and a deadline on reading each request.

uvicorn bounds the wait *between* requests (``timeout_keep_alive``) but not the time a request
takes to arrive: a client that sends its request head or body a byte at a time, or never
finishes it ("slowloris"), holds a file descriptor and a connection for as long as it likes. The
protocols here are uvicorn's own HTTP/1.1 protocols plus one timer per connection:

- **head**: from the connection's start, or from the first byte of a later request on a
  keep-alive connection, the request line and headers must be complete within
  ``header_timeout_s``;
- **body**: from the end of the head, the whole body must have arrived within
  ``body_timeout_s``. A deadline rather than a minimum rate: bodies are capped (413 past
  ``SessionLimits.body_bytes``), so the deadline is a rate floor for the largest body, and it
  bounds how long one unfinished request can hold a connection (head + body), where a rate
  floor lets a client that trickles at that rate hold it for ``cap / rate``.

A request that misses its deadline gets ``408 Request Timeout`` and the connection is closed; if
its response has started already (an answer before the body was read) the connection is just
closed, and a connection that never sent a byte is closed silently (a browser's preconnect).

The timer runs only while a request is being read. It stops when the request's last byte has
arrived, so a response may take as long as it needs (a long ``execute_code``, a GET's SSE
stream); idle time between requests is the keep-alive's. The deadline is not enforced while
the server itself holds the request up: an earlier request's response on the same connection
still being sent (pipelining: cutting the connection would cut that response), reading paused by
uvicorn's flow control, or a body offered with ``Expect: 100-continue`` that the app has not
asked for yet. When it passes then, it is checked again a period later, and once the server no
longer holds the request up the client has one whole period more.
"""

from __future__ import annotations

import asyncio
import logging
import math
from typing import TYPE_CHECKING, ClassVar, Literal, Protocol, TypedDict, cast

if TYPE_CHECKING:
    from uvicorn.protocols.http.flow_control import FlowControl
    from uvicorn.server import ServerState

    from codemode.config import Settings

__all__ = ["Parser", "ReadDeadline", "UvicornOptions", "read_deadline_protocol", "uvicorn_options"]

logger = logging.getLogger("codemode.server")

Parser = Literal["auto", "httptools", "h11"]
Reading = Literal["head", "body"]

_TIMEOUT_TEXT = b"Request Timeout: the request did not arrive in time\n"


class UvicornOptions(TypedDict):
    """The keywords of ``uvicorn.run`` / ``uvicorn.Config`` that the server sets."""

    log_level: str
    timeout_graceful_shutdown: int
    timeout_keep_alive: int
    http: type[asyncio.Protocol]


def uvicorn_options(settings: Settings, *, log_level: str) -> UvicornOptions:
    """How ``codemode serve`` runs uvicorn (the tests' live server uses the same).

    Args:
        settings: The operator's settings: keep-alive, script time limit, request deadlines.
        log_level: uvicorn's log level, lower case.
    """
    return UvicornOptions(
        log_level=log_level,
        # On SIGTERM uvicorn stops accepting and lets running scripts finish (up to their own
        # time limit) before it closes: a rolling restart loses no answer.
        timeout_graceful_shutdown=int(settings.timeout_s) + 5,
        # Above the balancer's idle timeout: a connection the server closes while the
        # balancer (or a keep-alive client) sends on it fails that request.
        timeout_keep_alive=max(1, math.ceil(settings.keepalive_s)),
        http=read_deadline_protocol(
            header_timeout_s=settings.header_timeout_s, body_timeout_s=settings.body_timeout_s
        ),
    )


def read_deadline_protocol(
    *, header_timeout_s: float, body_timeout_s: float, parser: Parser = "auto"
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol with these request deadlines, for ``uvicorn.Config(http=)``.

    Args:
        header_timeout_s: Seconds a request's head may take to arrive.
        body_timeout_s: Seconds its body may take, from the end of the head.
        parser: ``auto`` picks what uvicorn's ``auto`` picks (httptools when installed, else
            h11), so the server keeps its speed.
    """
    if parser == "auto":
        from uvicorn.protocols.http.auto import AutoHTTPProtocol
        from uvicorn.protocols.http.h11_impl import H11Protocol

        parser = "h11" if issubclass(AutoHTTPProtocol, H11Protocol) else "httptools"
    base: type[ReadDeadline]
    if parser == "httptools":
        from codemode.server._listener_httptools import HttpToolsReadDeadline

        base = HttpToolsReadDeadline
    else:
        from codemode.server._listener_h11 import H11ReadDeadline

        base = H11ReadDeadline
    # uvicorn makes one protocol per connection from the class alone: the class carries them.
    timeouts = {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s}
    return cast("type[asyncio.Protocol]", type(base.__name__, (base,), timeouts))


class _Cycle(Protocol):
    """What the deadline reads of uvicorn's request-response cycle (both parsers have it)."""

    response_started: bool
    response_complete: bool
    disconnected: bool
    message_event: asyncio.Event
    waiting_for_100_continue: bool


class ReadDeadline(asyncio.Protocol):
    """The request-read deadline, mixed in before one of uvicorn's HTTP/1.1 protocols.

    The head's deadline starts with the connection, and with the first bytes after a request
    was read whole; each subclass calls :meth:`_reading_now` where its parser starts or ends a
    head or a body: the parsers differ, the deadline does not.
    """

    header_timeout_s: ClassVar[float]
    body_timeout_s: ClassVar[float]

    # Set by uvicorn's protocol.
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    flow: FlowControl
    server_state: ServerState
    client: tuple[str, int] | None

    _deadline: asyncio.TimerHandle | None = None
    _reading: Reading | None = None
    _held = False
    """The server held the request up when the deadline last passed."""
    _heard = False
    """Whether the connection has sent any byte (a silent one gets no 408)."""
    _handed_over = False
    """Upgraded to another protocol (WebSocket): no longer ours to time."""

    def _cycle_now(self) -> _Cycle | None:
        """The latest request-response cycle of the connection, or ``None`` before the first."""
        raise NotImplementedError

    def _answering_earlier(self) -> bool:
        """Whether the request being read waits behind an earlier one still being answered."""
        raise NotImplementedError

    def _reading_now(self, reading: Reading | None) -> None:
        """Start the deadline of reading a request's head or body, or stop it (``None``)."""
        self._held = False
        self._arm(reading)

    def _arm(self, reading: Reading | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._reading = None if self._handed_over else reading
        if self._reading is not None:
            delay = self.header_timeout_s if self._reading == "head" else self.body_timeout_s
            self._deadline = self.loop.call_later(delay, self._deadline_passed)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._reading_now("head")

    def connection_lost(self, exc: Exception | None) -> None:
        self._reading_now(None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._heard = True
        if self._reading is None:  # between requests: the next one's head has begun
            self._reading_now("head")
        super().data_received(data)

    def _server_busy(self) -> bool:
        """Whether the server, not the client, may be why the request is not read yet."""
        if self.flow.read_paused or self._answering_earlier():
            return True
        # A client that sent ``Expect: 100-continue`` waits to be asked for the body, and uvicorn
        # asks only when the app first reads it.
        cycle = self._cycle_now() if self._reading == "body" else None
        return cycle is not None and cycle.waiting_for_100_continue

    def _deadline_passed(self) -> None:
        self._deadline = None
        reading = self._reading
        if reading is None or self.transport.is_closing():
            return
        if self._server_busy():
            self._held = True
            self._arm(reading)
            return
        if self._held:  # the client gets a whole period from when the server let it send
            self._held = False
            self._arm(reading)
            return
        timeout = self.header_timeout_s if reading == "head" else self.body_timeout_s
        logger.info(
            "closed a connection from %s: its request %s did not arrive within %g s",
            self.client[0] if self.client else "an unknown address",
            reading,
            timeout,
        )
        self._reading = None
        cycle = self._cycle_now() if reading == "body" else None
        if cycle is not None and not cycle.response_complete:
            # As uvicorn does when the client leaves: the app reads a disconnect, sends nothing.
            cycle.disconnected = True
            cycle.message_event.set()
        answered = cycle is not None and cycle.response_started
        if self._heard and not answered:
            self.transport.write(self._timeout_response())
        self.transport.close()

    def _timeout_response(self) -> bytes:
        lines = [b"HTTP/1.1 408 Request Timeout"]
        lines += [name + b": " + value for name, value in self.server_state.default_headers]
        lines += [
            b"content-type: text/plain; charset=utf-8",
            b"content-length: %d" % len(_TIMEOUT_TEXT),
            b"connection: close",
        ]
        return b"\r\n".join(lines) + b"\r\n\r\n" + _TIMEOUT_TEXT
