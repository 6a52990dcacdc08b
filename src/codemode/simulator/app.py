"""The ASGI app: one route per catalog action, behind Klaviyo's header, auth and rate-limit rules."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from codemode.catalog import Action
from codemode.simulator import oauth
from codemode.simulator.auth import authenticate
from codemode.simulator.config import SimConfig
from codemode.simulator.context import Ctx, Reply
from codemode.simulator.errors import ApiError, bad_body, error_document
from codemode.simulator.handlers import handler_for
from codemode.simulator.handlers._registry import Handler
from codemode.simulator.operations import body_media
from codemode.simulator.state import SimState
from codemode.simulator.validate import first_error

__all__ = ["MEDIA_TYPE", "DroppedConnection", "create_app"]

_log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.api+json"
REVISION = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(\.[a-z]+)?$")
FIRST_REVISION = date(2023, 1, 24)
MAX_UPLOAD = 5 * 1024 * 1024 + 1024
ENCODED_SLASH = re.compile(r"%2[fF]")
ENCODED_KEY = "codemode.sim.encoded_path"


class DroppedConnection(ConnectionResetError):
    """Raised by the app to simulate a connection dropped mid-response."""


class _Dropped(Response):
    """Starts a response that promises a body, then fails: served by uvicorn the client sees the
    connection close mid-response; in process (ASGI transports) the error reaches the caller."""

    def __init__(self, action_id: str) -> None:
        super().__init__(status_code=200)
        self.action_id = action_id

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]}
        )
        raise DroppedConnection(f"simulated dropped connection on {self.action_id}")


def _json(status: int, body: Any, headers: dict[str, str]) -> Response:
    content = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    return Response(
        content,
        status_code=status,
        media_type=MEDIA_TYPE if body is not None else None,
        headers=headers,
    )


def _check_revision(value: str | None) -> str:
    if not value:
        raise ApiError(
            400,
            "invalid",
            "The 'revision' header is required, e.g. 'revision: 2026-07-15'.",
            parameter="revision",
        )
    match = REVISION.match(value.strip())
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3))) if match else None
    except ValueError:
        day = None
    if day is None or day < FIRST_REVISION:
        raise ApiError(
            400,
            "invalid",
            f"Invalid revision {value!r}: use a published revision in the form YYYY-MM-DD, e.g. 2026-07-15.",
            parameter="revision",
        )
    return value.strip()


def _allowed_query(action: Action) -> set[str]:
    allowed = {p.wire for p in action.query_params}
    allowed |= {f"fields[{kind}]" for kind in action.fields}
    allowed |= {f"additional-fields[{kind}]" for kind in action.additional_fields}
    if action.include:
        allowed.add("include")
    return allowed


async def _form(request: Request) -> dict[str, Any]:
    # Multipart uploads (image files): fields as text, files as {"filename", "content"}.
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise bad_body("/", "Send this request as multipart/form-data with a 'file' field.")
    try:
        form = await request.form(max_files=1, max_fields=10, max_part_size=MAX_UPLOAD)
    except Exception as exc:  # starlette raises its own parse errors for malformed forms
        raise bad_body("/", f"The multipart body could not be read: {exc}.") from None
    out: dict[str, Any] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out[key] = value
        else:
            out[key] = {
                "filename": value.filename,
                "content": await value.read(MAX_UPLOAD + 1),
                "content_type": value.content_type,
            }
    await form.close()
    return out


async def _body(request: Request, action: Action) -> Any:
    if action.body is None:
        return None
    if body_media(action.id) == "multipart/form-data":
        return await _form(request)
    raw = await request.body()
    if not raw:
        if action.body.required:
            raise bad_body("/data", "This action needs a JSON:API request body: {'data': {...}}.")
        return None
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise bad_body("/", "The request body is not valid JSON.") from None
    problem = first_error(action.body.schema, body)
    if problem:
        pointer, detail = problem
        raise bad_body(pointer, f"{pointer.rsplit('/', 1)[-1] or 'body'} {detail} (at {pointer}).")
    return body


async def _write_size(request: Request, action: Action) -> int:
    """Bytes a write brings (its body; a multipart upload by its declared length)."""
    if not action.writes:
        return 0
    if body_media(action.id) == "multipart/form-data":
        length = request.headers.get("content-length", "")
        return int(length) if length.isdigit() else 0
    return len(await request.body())


def _path_params(request: Request) -> dict[str, str]:
    params = {k: str(v) for k, v in request.path_params.items()}
    if request.scope.get(ENCODED_KEY):
        params = {k: unquote(v) for k, v in params.items()}
    return params


def _endpoint(action: Action, handle: Handler) -> Callable[[Request], Awaitable[Response]]:
    allowed_query = _allowed_query(action)

    async def endpoint(request: Request) -> Response:
        sim: SimState = request.app.state.sim
        sim.stats.requests += 1
        if action.writes:
            sim.stats.attempts[action.id] += 1
        headers: dict[str, str] = {}
        try:
            if sim.config.faults.active:
                if sim.config.faults.latency_ms:
                    delay = sim.config.faults.latency_ms / 1000
                    if sim.config.sleep is not None:
                        sim.config.sleep(delay)
                    else:
                        await asyncio.sleep(delay)
                fault = sim.faults.next()
                if fault == "drop":
                    return _Dropped(action.id)
                if fault == "error":
                    raise ApiError(
                        503, "service_unavailable", "Simulated outage: retry with backoff."
                    )
                if fault == "throttle":
                    raise ApiError(
                        429,
                        "throttled",
                        "Simulated throttling burst: retry after 1 second.",
                        headers={"Retry-After": "1"},
                    )
            revision = _check_revision(request.headers.get("revision"))
            headers["revision"] = revision
            principal = authenticate(
                sim,
                action,
                request.headers.get("authorization"),
                request.query_params.get("company_id"),
            )
            if sim.config.rate_limits:
                headers.update(sim.limiter.hit(principal.bucket, action.rate_limit))
            query = dict(request.query_params)
            for name in query:
                if name not in allowed_query:
                    known = ", ".join(sorted(allowed_query)) or "none"
                    raise ApiError(
                        400,
                        "invalid",
                        f"Unknown query parameter {name!r} for {action.id}; accepted: {known}.",
                        parameter=name,
                    )
            for param in action.query_params:
                value = query.get(param.wire)
                if param.enum and value is not None and value not in map(str, param.enum):
                    raise ApiError(
                        400,
                        "invalid",
                        f"{value!r} is not a valid {param.wire}; use one of: "
                        + ", ".join(map(str, param.enum))
                        + ".",
                        parameter=param.wire,
                    )
                if param.required and param.wire not in query:
                    raise ApiError(
                        400,
                        "invalid",
                        f"{action.id} requires the {param.wire!r} query parameter.",
                        parameter=param.wire,
                    )
            body = await _body(request, action)
            base = f"{request.url.scheme}://{request.url.netloc}"
            size = await _write_size(request, action)
            with sim.lock:
                written = sim.written.get(principal.account_id, 0)
                if size and written + size > sim.config.write_budget_bytes:
                    raise ApiError(
                        413,
                        "request_too_large",
                        f"The simulator account has taken {written} bytes of writes, its limit "
                        f"is {sim.config.write_budget_bytes}: restart the simulator to reset it.",
                    )
                account = sim.account(principal.account_id)
                ctx = Ctx(
                    action,
                    sim,
                    account,
                    _path_params(request),
                    query,
                    body,
                    base,
                    request.url.path,
                )
                reply: Reply = handle(ctx)
                if action.writes and reply.status < 400:
                    sim.written[principal.account_id] = written + size
                    sim.stats.writes[action.id] += 1
                    sim.stats.write_log.append((action.id, action.method, request.url.path))
                # Reads can change state too (a poll advances a job), so save whatever changed.
                sim.saved(account)
            headers.update(reply.headers)
            sim.stats.statuses[reply.status] += 1
            return _json(reply.status, reply.body, headers)
        except ApiError as error:
            headers.update(error.headers)
            sim.stats.statuses[error.status] += 1
            return _json(error.status, error_document(error), headers)
        except Exception:
            # A simulator bug still answers in Klaviyo's 5XX shape; the traceback goes to the log.
            _log.exception("simulator handler %s failed", action.id)
            sim.stats.statuses[500] += 1
            failure = ApiError(
                500, "error", f"The simulator failed while serving {action.id}; see its log."
            )
            return _json(500, error_document(failure), headers)

    endpoint.__name__ = action.id
    return endpoint


async def _not_found(request: Request, exc: Exception) -> Response:
    error = ApiError(
        404, "not_found", f"No Klaviyo endpoint at {request.method} {request.url.path}."
    )
    return _json(404, error_document(error), {})


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    error = ApiError(
        405, "method_not_allowed", f"{request.method} is not allowed on {request.url.path}."
    )
    return _json(405, error_document(error), {})


def create_app(config: SimConfig | None = None) -> Starlette:
    """Build a simulator app; its state (accounts, stats, credentials) is ``app.state.sim``."""
    sim = SimState(config or SimConfig())
    routes: list[Route] = [
        Route("/oauth/authorize", oauth.authorize, methods=["GET"]),
        Route("/oauth/token", oauth.token, methods=["POST"]),
        Route("/oauth/revoke", oauth.revoke, methods=["POST"]),
        Route("/", _index, methods=["GET"]),
    ]
    for action in sim.catalog.values():
        endpoint = _endpoint(action, handler_for(action))
        routes.append(Route(action.path, endpoint, methods=[action.method], name=action.id))
        routes.append(
            Route(action.path + "/", endpoint, methods=[action.method], name=f"{action.id}/")
        )
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _method_not_allowed})
    app.state.sim = sim
    app.add_middleware(_RawPathRouting)
    return app


class _RawPathRouting:
    """Routes on the path as sent, like Klaviyo: an encoded slash (``%2F``) inside a path parameter
    stays part of that parameter instead of becoming a separator, so ``/api/lists/a%2F..%2Fx``
    addresses list ``a/../x`` and can never reach another endpoint. Every other escape is decoded
    before routing; path parameters are decoded after it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raw = scope.get("raw_path") if scope.get("type") == "http" else None
        if raw:
            text = raw.decode("latin-1").split("?", 1)[0]
            if ENCODED_SLASH.search(text):
                # "%" is re-escaped so the parameters decode exactly once, after routing.
                parts = [unquote(p).replace("%", "%25") for p in ENCODED_SLASH.split(text)]
                scope = {**scope, "path": "%2F".join(parts), ENCODED_KEY: True}
        await self.app(scope, receive, send)


async def _index(request: Request) -> Response:
    sim: SimState = request.app.state.sim
    return JSONResponse(
        {
            "simulator": "klaviyo-codemode",
            "accounts": [
                {"name": a.name, "company_id": a.company_id} for a in sim.accounts.values()
            ],
            "actions": len(sim.catalog),
        }
    )
