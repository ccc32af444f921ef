"""Bounds on connections, below the ASGI app: uvicorn's HTTP/1.1 protocol (h11) with a deadline
for receiving each request and a cap on open connections.

uvicorn closes a keep-alive connection idle after a response, but a new connection that sends
nothing, or headers or a body a byte at a time, is held for as long as the client likes, and
every such connection is accepted. Here a request (headers and body) must arrive whole within
``request_timeout`` seconds of its connection opening or of the previous response (else 408 and
the connection is closed), and a connection beyond ``max_connections`` gets 503 at once.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from service.schemas import Problem

# The client still owes bytes of the request (h11's IDLE: no request line yet).
_RECEIVING = (h11.IDLE, h11.SEND_BODY)


def _raw_problem(status: int, title: str, detail: str) -> bytes:
    """A whole HTTP/1.1 problem+json response that closes the connection."""
    body = Problem(title=title, status=status, detail=detail).model_dump_json().encode()
    head = (
        f"HTTP/1.1 {status} {title}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class BoundedH11Protocol(H11Protocol):
    """H11Protocol with a request deadline and a connection cap (set by ``bounded_protocol``)."""

    request_timeout: float = 30.0
    max_connections: int = 256
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            detail = f"the server has {self.max_connections} connections open; retry"
            transport.write(_raw_problem(503, "Service Unavailable", detail))
            transport.close()
            return
        self._restart_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state not in _RECEIVING:
            self._cancel_deadline()  # the request is in: the app may take its time

    def on_response_complete(self) -> None:
        super().on_response_complete()  # may start the next (pipelined) request
        if not self.transport.is_closing():
            self._restart_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def _restart_deadline(self) -> None:
        self._cancel_deadline()
        if self.conn.their_state in _RECEIVING:
            self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        # A body still arriving for a request already answered (a 413 or 401 sent without
        # reading it) is cut off without another answer.
        answered = (
            self.conn.their_state is h11.SEND_BODY
            and self.cycle is not None
            and self.cycle.response_started
        )
        if not answered:
            detail = f"the request did not arrive whole within {self.request_timeout:g} s"
            self.transport.write(_raw_problem(408, "Request Timeout", detail))
        self.transport.close()


def bounded_protocol(request_timeout: float, max_connections: int) -> type[H11Protocol]:
    """The protocol class uvicorn instantiates per connection, with these bounds."""
    return type(
        "BoundedH11Protocol",
        (BoundedH11Protocol,),
        {"request_timeout": request_timeout, "max_connections": max_connections},
    )
