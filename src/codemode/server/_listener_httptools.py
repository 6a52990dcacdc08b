"""uvicorn's httptools protocol with the request-read deadline of :mod:`.listener`."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from codemode.server.listener import ReadDeadline

__all__ = ["HttpToolsReadDeadline"]


class HttpToolsReadDeadline(ReadDeadline, HttpToolsProtocol):
    """httptools calls back at each message's begin, end of head and end: the deadline follows.

    A pipelined request may begin (and end) inside the same bytes as the one before it, so each
    callback sets the deadline itself rather than reading it from the bytes received.
    """

    def _cycle_now(self) -> RequestResponseCycle | None:
        return self.cycle

    def _answering_earlier(self) -> bool:
        if self._reading == "body":  # its cycle is queued until the one before it is answered
            return bool(self.pipeline)
        return self.cycle is not None and not self.cycle.response_complete

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._reading is None:  # a pipelined request after one that ended in these bytes
            self._reading_now("head")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._reading_now("body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._reading_now(None)

    def handle_websocket_upgrade(self) -> None:
        self._handed_over = True
        self._reading_now(None)
        super().handle_websocket_upgrade()
