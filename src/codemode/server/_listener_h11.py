"""uvicorn's h11 protocol with the request-read deadline of :mod:`.listener`."""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle

from codemode.server.listener import ReadDeadline

__all__ = ["H11ReadDeadline"]


class H11ReadDeadline(ReadDeadline, H11Protocol):
    """h11 has no callbacks: after each pass over the events, the deadline follows the state h11
    says the client is in (``IDLE``: a head to come, ``SEND_BODY``: a body, else read whole).

    A request pipelined behind one still being answered waits unparsed in h11's buffer (the
    client's state stays ``DONE``) and gets its deadline when uvicorn starts the next cycle.
    """

    def _cycle_now(self) -> RequestResponseCycle | None:
        return self.cycle

    def _answering_earlier(self) -> bool:
        return False  # h11 parses no request (so it has no deadline) before the last is answered

    def handle_events(self) -> None:
        super().handle_events()
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if self._reading != "body":
                self._reading_now("body")
        elif state is h11.IDLE:  # between requests: a head has begun if bytes wait
            if self.conn.trailing_data[0]:
                if self._reading != "head":
                    self._reading_now("head")
            elif self._reading == "body":  # the body ended after an early answer
                self._reading_now(None)
        else:
            self._reading_now(None)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._handed_over = True
        self._reading_now(None)
        super().handle_websocket_upgrade(event)
