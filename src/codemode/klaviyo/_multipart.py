"""File uploads: the form fields of a ``multipart/form-data`` operation, checked and encoded.

The file travels as content, never as a path: ``bytes`` (or anything with ``read()``) outside the
sandbox, base64 text inside it (a script cannot open files, and its calls cross a JSON pipe; the
sandbox turns ``bytes`` into base64 on the way). A ``data:image/png;base64,...`` URL works too.
Only images Klaviyo accepts pass: JPEG, PNG or GIF, at most 5 MB.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from codemode.catalog import Action
from codemode.klaviyo._messages import fail as _fail
from codemode.klaviyo._messages import options as _options

__all__ = ["MAX_FILE_BYTES", "Form", "build_form", "form_fields"]

MAX_FILE_BYTES = 5 * 1024 * 1024
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


@dataclass(frozen=True, slots=True)
class Form:
    """An encoded form: the request body, its content type, and a JSON-safe summary for dry runs."""

    content: bytes
    content_type: str
    summary: dict[str, Any]


def form_fields(action: Action) -> dict[str, Mapping[str, Any]]:
    """The form fields of a multipart operation by name (empty for a JSON:API operation)."""
    if action.body is None or not action.body.multipart:
        return {}
    return dict(action.body.schema.get("properties") or {})


def _file_bytes(action: Action, name: str, value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("data:") and "," in text:
            text = text.split(",", 1)[1]
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _fail(
                action,
                f"{name} is text but not base64; pass the file's bytes (outside the sandbox) or its "
                "base64 text, never a path",
                name,
            ) from None
    elif callable(getattr(value, "read", None)):
        data = value.read()
        if not isinstance(data, bytes):
            raise _fail(
                action, f"{name}.read() gave {type(data).__name__}; open it with 'rb'", name
            )
    else:
        raise _fail(action, f"{name} must be bytes, base64 text or a binary file object", name)
    if not data:
        raise _fail(action, f"{name} is empty; pass the image's content", name)
    if len(data) > MAX_FILE_BYTES:
        raise _fail(action, f"{name} is {len(data):,} bytes; Klaviyo takes images up to 5 MB", name)
    return data


def _sniff(action: Action, name: str, data: bytes) -> tuple[str, str]:
    for magic, mime, ext in _SIGNATURES:
        if data.startswith(magic):
            return mime, ext
    raise _fail(action, f"{name} is not a JPEG, PNG or GIF image (by its first bytes)", name)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def build_form(action: Action, params: Mapping[str, Any]) -> Form | None:
    """Check the form fields in ``params`` and encode them (None when none was given).

    Raises:
        ValidationError: a required field is missing, the file is not an image, too big, or not
            content.
    """
    fields = form_fields(action)
    given = {k: v for k, v in params.items() if k in fields}
    assert action.body is not None  # form_fields is empty otherwise
    if not given and not action.body.required:
        return None
    required = list(action.body.schema.get("required") or ())
    missing = [r for r in required if r not in given]
    if missing:
        raise _fail(
            action,
            f"missing required {', '.join(map(repr, missing))}; {_options(missing[0], list(fields))}",
            missing[0],
        )
    parts: list[bytes] = []
    summary: dict[str, Any] = {}
    blobs: list[tuple[str, bytes, str, str]] = []
    texts: list[tuple[str, str]] = []
    for key, value in given.items():
        if fields[key].get("format") == "binary":
            data = _file_bytes(action, key, value)
            mime, ext = _sniff(action, key, data)
            stem = str(given.get("name") or "upload").replace('"', "").replace("\r", "")
            filename = stem.replace("\n", "") if "." in stem else f"{stem}.{ext}"
            blobs.append((key, data, mime, filename))
            summary[key] = f"<{len(data)} bytes {mime}>"
        else:
            texts.append((key, _text(value)))
            summary[key] = value
    digest = hashlib.sha256(repr((texts, [(k, d) for k, d, _, _ in blobs])).encode()).hexdigest()
    boundary = f"codemode-{digest[:32]}"
    for key, text in texts:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{text}\r\n'.encode()
        )
    for key, data, mime, filename in blobs:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; '
            f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return Form(
        content=b"".join(parts),
        content_type=f"multipart/form-data; boundary={boundary}",
        summary=summary,
    )
