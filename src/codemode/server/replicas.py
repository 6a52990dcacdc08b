"""MCP sessions that survive a hop to another replica behind the same address.

Under the 2025-11-25 handshake a client opens a session on one replica (``initialize`` answers
with an ``Mcp-Session-Id``) and a load balancer may send its next request to another. The SDK's
session manager keeps sessions in one process's memory, so the second replica would answer 404
and the client would have to start over. :class:`SharedSessionManager` writes a small record of
each session to the shared state (who opened it, hashed; the negotiated protocol version and the
client's ``initialize`` parameters; no secret) and, when a request names a session this replica
does not hold, adopts it from that record: a local transport with the same id, already
initialized, bound to the same principal. Everything a session accumulates that matters (the
script ``store``, limits, audit) is keyed by principal and session id in the shared state, so
nothing is lost in the hop.

A record lives as long as the session's idle timeout and is renewed by every request; a client's
``DELETE`` removes it on every replica at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import anyio
from mcp.server.auth.middleware.bearer_auth import (
    AuthenticatedUser,
    AuthorizationContext,
    authorization_context,
)
from mcp.server.connection import Connection
from mcp.server.runner import ServerRunner, serve_connection
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER, StreamableHTTPServerTransport
from mcp.shared.jsonrpc_dispatcher import JSONRPCDispatcher
from mcp.types import InitializeRequestParams
from starlette.types import Message, Receive, Scope, Send

from codemode.server.mcp_sessions import PrincipalSessionManager, principal_of
from codemode.state import KeyValue, StateError

__all__ = ["SharedSessionManager"]

logger = logging.getLogger("codemode.server")

_MAX_ID = 128
_MAX_OPENING = 256 * 1024
"""Largest opening request body kept for the record; an ``initialize`` is a few hundred bytes."""


def _owner(requestor: AuthorizationContext | None) -> str:
    raw = json.dumps(requestor, sort_keys=True) if requestor is not None else "anonymous"
    return hashlib.sha256(b"codemode-session-owner:" + raw.encode()).hexdigest()


def _key(session_id: str) -> str:
    return "mcp-session:" + hashlib.sha256(session_id.encode()).hexdigest()


def _requestor(scope: Scope) -> AuthorizationContext | None:
    user = scope.get("user")
    return authorization_context(user) if isinstance(user, AuthenticatedUser) else None


def _session_header(scope: Scope) -> str | None:
    name = MCP_SESSION_ID_HEADER.encode()
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


class SharedSessionManager(PrincipalSessionManager):
    """The per-principal session manager, with session records in the shared state."""

    def __init__(self, *args: Any, kv: KeyValue, **kwargs: Any) -> None:
        """As :class:`PrincipalSessionManager`, plus ``kv``: where the session records live."""
        super().__init__(*args, **kwargs)
        self._kv = kv
        self._record_ttl_s = float(self.session_idle_timeout or 3600.0)

    async def _handle_stateful_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = _session_header(scope)
        if session_id is None:
            await self._open(scope, receive, send)
            return
        if session_id not in self._server_instances and len(session_id) <= _MAX_ID:
            await self._adopt(session_id, _requestor(scope), principal_of(scope.get("user")))
        # Held for this caller: only a request the session will serve renews or ends its record.
        held = session_id in self._server_instances and self._session_owners.get(
            session_id
        ) == _requestor(scope)
        if held:
            try:
                recorded = await self._kv.touch(_key(session_id), ttl_s=self._record_ttl_s)
            except StateError:
                recorded = True  # unknown: keep serving rather than end a live session
                logger.warning("could not renew the shared record of an MCP session")
            if not recorded:
                # Ended elsewhere (a DELETE on another replica) or expired: end the local copy
                # too. An adopted copy used to live on after its owner's DELETE on the replica
                # that opened it, so the id still worked behind the same address.
                await self._discard_session(session_id, self._server_instances[session_id])
                held = False
        await super()._handle_stateful_request(scope, receive, send)
        # Only a DELETE that ended a session this replica held (adopted for its owner, or opened
        # here) removes the shared record. Any DELETE naming an id used to: another principal's
        # DELETE, answered 404 on a replica that had not adopted the session, erased the record,
        # and the owner's session was gone on every replica that had not adopted it yet.
        if scope.get("method") == "DELETE" and held and session_id not in self._server_instances:
            await self._forget(session_id)

    async def _open(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A new session: serve it as the SDK does, recording it before the client learns its id.

        The record is written before the response that carries the ``Mcp-Session-Id`` starts:
        the client's very next request (``notifications/initialized``) may reach another replica,
        which must find the record there.
        """
        body = bytearray()

        async def tee() -> Message:
            message = await receive()
            if message["type"] == "http.request" and len(body) < _MAX_OPENING:
                body.extend(message.get("body", b""))
            return message

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status", 500) < 400:
                for key, value in message.get("headers", ()):
                    if key.lower() == MCP_SESSION_ID_HEADER.encode():
                        await self._record(value.decode("latin-1"), bytes(body), _requestor(scope))
            await send(message)

        await super()._handle_stateful_request(scope, tee, watch)

    async def _record(
        self, session_id: str, opening: bytes, requestor: AuthorizationContext | None
    ) -> None:
        try:
            message = json.loads(opening)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("method") != "initialize":
            return
        try:
            init, version = ServerRunner._negotiate_initialize(message.get("params"))
        except ValueError:
            return
        record = {
            "owner": _owner(requestor),
            "version": version,
            "params": init.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
        try:
            await self._kv.set(
                _key(session_id), json.dumps(record).encode(), ttl_s=self._record_ttl_s
            )
        except StateError:
            logger.warning("could not record an MCP session in the shared state")

    async def _forget(self, session_id: str) -> None:
        try:
            await self._kv.delete(_key(session_id))
        except StateError:
            logger.warning("could not remove the shared record of an MCP session")

    async def _adopt(
        self, session_id: str, requestor: AuthorizationContext | None, principal: str
    ) -> None:
        """Serve a session another replica opened, when its record names this caller."""
        try:
            raw = await self._kv.get(_key(session_id))
        except StateError:
            logger.warning("the shared state is unreachable: cannot adopt an MCP session")
            return
        if raw is None:
            return
        record = json.loads(raw)
        if record.get("owner") != _owner(requestor):
            logger.warning("refused to adopt an MCP session opened by another principal")
            return
        init = InitializeRequestParams.model_validate(record["params"], by_name=False)
        async with self._session_creation_lock:
            if session_id in self._server_instances:
                return
            if self.max_sessions is not None and len(self._server_instances) >= self.max_sessions:
                return
            if self.sessions_of(principal) >= self.limits.per_principal:
                return
            transport = StreamableHTTPServerTransport(
                mcp_session_id=session_id,
                is_json_response_enabled=self.json_response,
                event_store=self.event_store,
                security_settings=self.security_settings,
                retry_interval=self.retry_interval,
                idle_timeout=self.session_idle_timeout,
            )
            if requestor is not None:
                self._session_owners[session_id] = requestor
            self._server_instances[session_id] = transport
            self._principals[session_id] = principal
        assert self._task_group is not None
        await self._task_group.start(self._serve_adopted, transport, init, str(record["version"]))
        logger.info("adopted an MCP session opened on another replica")

    async def _serve_adopted(
        self,
        transport: StreamableHTTPServerTransport,
        init: InitializeRequestParams,
        version: str,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        session_id = transport.mcp_session_id
        assert session_id is not None
        try:
            async with transport.connect() as (read_stream, write_stream):
                task_status.started()
                dispatcher: JSONRPCDispatcher[Any] = JSONRPCDispatcher(
                    read_stream, write_stream, inline_methods=frozenset({"initialize"})
                )
                connection = Connection.for_loop(dispatcher, session_id=session_id)
                connection.client_params = init
                connection.protocol_version = version
                connection.initialized.set()
                idle_scope = transport.idle_scope or anyio.CancelScope()
                with idle_scope:
                    await serve_connection(
                        self.app,
                        dispatcher,
                        connection=connection,
                        lifespan_state=self._lifespan_state,
                    )
        except Exception:
            logger.exception("an adopted MCP session crashed")
        finally:
            await self._discard_session(session_id, transport)
