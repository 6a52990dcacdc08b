"""The ``klaviyo`` object a script sees: the SDK's sync surface, forwarded to the host.

The proxy holds no key, no client and no URL: each call becomes one message on the worker's
channel; the host checks policy, calls Klaviyo with its own credentials, scans the answer and
replies with plain JSON. Errors come back as the SDK's typed exceptions so scripts can catch them.
"""

from __future__ import annotations

import base64
import datetime as _dt
import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from codemode.catalog._model import operation_key
from codemode.klaviyo import _errors as sdk_errors
from codemode.klaviyo._errors import KlaviyoError, ValidationError
from codemode.klaviyo._filters import F, Filter
from codemode.klaviyo._jsonapi import Result
from codemode.policy import PolicyError

__all__ = [
    "ERROR_CLASSES",
    "F",
    "InjectionDetected",
    "LimitError",
    "SdkProxy",
    "WorkerChannel",
    "error_from_dict",
]


class WorkerChannel(Protocol):
    """How the proxy reaches the host."""

    def send(self, message: dict[str, Any]) -> None:
        """Send without waiting for an answer."""

    def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send and wait for the host's answer."""


class LimitError(Exception):
    """A sandbox limit was reached (SDK calls per execution, ...); the message names it."""


class InjectionDetected(KlaviyoError):
    """The host's scanner found prompt injection in the answer and withheld it (policy ``block``).

    The script-side twin of ``codemode.scanner.InjectionDetected``: a ``KlaviyoError`` so that
    ``except KlaviyoError`` around a call also skips a withheld answer.
    """


ERROR_CLASSES: dict[str, type[Exception]] = {
    name: getattr(sdk_errors, name) for name in sdk_errors.__all__ if name[0].isupper()
}
ERROR_CLASSES.update(
    PolicyError=PolicyError, LimitError=LimitError, InjectionDetected=InjectionDetected
)


def error_from_dict(data: Mapping[str, Any]) -> Exception:
    """Rebuild the exception the host described."""
    name = str(data.get("class", "KlaviyoError"))
    message = str(data.get("message", "the call failed"))
    if name == "PolicyError":
        return PolicyError(
            message, rule=str(data.get("rule", "")), operation_id=str(data.get("operation_id", ""))
        )
    if name == "LimitError":
        return LimitError(message)
    if name == "InjectionDetected":
        return InjectionDetected(
            message, operation_id=data.get("operation_id"), code="injection_blocked"
        )
    return KlaviyoError.from_dict({**data, "message": message})


def _json_default(value: Any) -> Any:
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, Filter):  # F.equals(...) & F.any(...): Klaviyo's filter text
        return str(value)
    if isinstance(value, bytes | bytearray):  # file content (image upload): base64 over the pipe
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(type(value).__name__)


def _encode(op: str, name: str, value: Any) -> tuple[Any, int]:
    """The JSON form of one argument and its size in bytes."""
    try:
        text = json.dumps(value, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"parameter {name} of {op} is not JSON ({exc}); pass str, int, finite float, bool, "
            "None, lists and dicts (dates become ISO strings, bytes base64 text)",
            operation_id=op,
        ) from None
    except RecursionError:
        raise ValidationError(
            f"parameter {name} of {op} is nested too deeply (or refers to itself)",
            operation_id=op,
        ) from None
    return json.loads(text), len(text)


class _Caller:
    """Sends calls on the channel and turns answers into Results (one per run)."""

    __slots__ = ("_call_bytes", "_channel")

    def __init__(self, channel: WorkerChannel, call_bytes: int) -> None:
        self._channel = channel
        self._call_bytes = call_bytes

    def invoke(self, op: str, args: Sequence[Any], params: Mapping[str, Any]) -> Result:
        size = len(op)
        sent_args: list[Any] = []
        for index, value in enumerate(args):
            encoded, n = _encode(op, f"#{index + 1}", value)
            sent_args.append(encoded)
            size += n
        sent_params: dict[str, Any] = {}
        for key, value in params.items():
            encoded, n = _encode(op, repr(key), value)
            sent_params[str(key)] = encoded
            size += n + len(str(key))
        if size > self._call_bytes:
            raise ValidationError(
                f"the arguments of {op} are {size} bytes as JSON; the limit is {self._call_bytes} "
                "bytes per call: send fewer records per call (split bulk jobs) or shorter filters",
                operation_id=op,
            )
        reply = self._channel.request(
            {"t": "call", "op": op, "args": sent_args, "params": sent_params}
        )
        if not reply.get("ok"):
            raise error_from_dict(reply.get("error") or {})

        def fetch_next(cursor: str) -> Result:
            return self.invoke(op, sent_args, {**sent_params, "page_cursor": cursor})

        return Result(reply.get("raw"), status=int(reply.get("status") or 0), fetch_next=fetch_next)


class _Operation:
    __slots__ = ("_caller", "_name")

    def __init__(self, caller: _Caller, name: str) -> None:
        self._caller = caller
        self._name = name

    def __call__(self, *args: Any, **params: Any) -> Result:
        return self._caller.invoke(self._name, args, params)

    def __repr__(self) -> str:
        return f"<klaviyo operation {self._name} (runs on the host)>"


class _Group:
    __slots__ = ("_caller", "_name", "_ops")

    def __init__(self, caller: _Caller, name: str, ops: Sequence[str]) -> None:
        self._caller = caller
        self._name = name
        self._ops = frozenset(ops)

    def __getattr__(self, name: str) -> _Operation:
        ops = object.__getattribute__(self, "_ops")
        group = object.__getattribute__(self, "_name")
        if name not in ops:
            close = difflib.get_close_matches(name, sorted(ops), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise AttributeError(
                f"klaviyo.{group} has no action {name!r}; {hint}use search_api to find one"
            )
        return _Operation(object.__getattribute__(self, "_caller"), name)

    def __repr__(self) -> str:
        return f"<klaviyo.{object.__getattribute__(self, '_name')}>"


class _Errors:
    """``klaviyo.errors.NotFoundError`` and friends."""

    __slots__ = ()

    def __getattr__(self, name: str) -> type[Exception]:
        if name in ERROR_CLASSES:
            return ERROR_CLASSES[name]
        raise AttributeError(
            f"klaviyo.errors has no {name!r}; available: {', '.join(sorted(ERROR_CLASSES))}"
        )


class SdkProxy:
    """The script's ``klaviyo``: ``klaviyo.<group>.<operation_id>(**params)`` or ``klaviyo.call``."""

    __slots__ = ("_caller", "_groups")

    def __init__(
        self,
        channel: WorkerChannel,
        names: Mapping[str, Sequence[str]],
        *,
        call_bytes: int = 1024 * 1024,
    ) -> None:
        self._caller = _Caller(channel, call_bytes)
        self._groups = {group: tuple(ops) for group, ops in names.items()}

    def call(self, operation_id: str, /, *args: Any, **params: Any) -> Result:
        """Call any action by its operation id."""
        if not isinstance(operation_id, str):
            raise TypeError(
                "klaviyo.call needs the operation id as a str, e.g. klaviyo.call('get_profiles')"
            )
        # Other SDKs' spelling of a known action (getProfiles, profiles.get_profiles()) is that
        # action; any other name goes to the host as written, which names it in its error.
        key = operation_key(operation_id)
        known = any(key in ops for ops in object.__getattribute__(self, "_groups").values())
        return self._caller.invoke(key if known else operation_id, args, params)

    @property
    def errors(self) -> _Errors:
        """The SDK's exception classes."""
        return _Errors()

    def __getattr__(self, name: str) -> _Group:
        groups = object.__getattribute__(self, "_groups")
        if name not in groups:
            close = difflib.get_close_matches(name, sorted(groups), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise AttributeError(
                f"klaviyo has no group {name!r}; {hint}groups: {', '.join(sorted(groups))}"
            )
        return _Group(object.__getattribute__(self, "_caller"), name, groups[name])

    def __repr__(self) -> str:
        count = len(object.__getattribute__(self, "_groups"))
        return f"<klaviyo SDK proxy: {count} groups; calls run on the host, which holds the key>"
