"""Secret values and the files that hold them.

Three rules live here so no other module has to remember them:

* a token is wrapped in :class:`Secret`, whose ``repr`` and ``str`` never show the value, so a
  stray log line, f-string or traceback cannot leak it; code that must send it calls ``reveal()``;
* every file we write that holds a token or a key is created ``0600`` in a ``0700`` folder, and
  every such file we read is refused when other users could read it (:func:`check_private`);
* anything persisted is encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key kept in
  the OS keyring or in its own ``0600`` key file.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from pathlib import Path
from typing import Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from codemode.server.oauth._errors import InsecureFileError, OAuthError

__all__ = [
    "Secret",
    "SecretBox",
    "check_private",
    "derive_key",
    "load_or_create_key",
    "read_private",
    "write_private",
]

_GROUP_OR_OTHER: Final = stat.S_IRWXG | stat.S_IRWXO


class Secret:
    """A string that must never be printed: ``repr`` and ``str`` show only ``<secret>``.

    Equality is constant-time so comparing a presented token with a stored one leaks no timing.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("a secret must not be empty")
        self._value = value

    def reveal(self) -> str:
        """The value itself, for the one place that must send it over the wire."""
        return self._value

    def fingerprint(self) -> str:
        """A short, non-reversible tag for logs and tests (first 8 hex of SHA-256)."""
        return hashlib.sha256(self._value.encode()).hexdigest()[:8]

    def __repr__(self) -> str:
        return "Secret(<secret>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> str:  # pragma: no cover - guard, never reached in normal use
        raise TypeError("Secret values cannot be pickled")


def check_private(path: Path) -> None:
    """Refuse a token or key file that other users can read or write.

    Raises:
        InsecureFileError: the file's mode grants group or other access; the message gives the
            ``chmod`` that fixes it.
    """
    if os.name != "posix":  # pragma: no cover - POSIX modes only mean something on POSIX
        return
    mode = path.stat().st_mode
    if mode & _GROUP_OR_OTHER:
        raise InsecureFileError(
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):04o}); it holds "
            f"Klaviyo credentials. Run `chmod 600 {path}`, or delete it and run `codemode login`."
        )


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` atomically to a ``0600`` file in a ``0700`` folder."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # O_EXCL + mode at creation: the bytes never sit in a file with a wider mode, not even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_private(path: Path) -> bytes:
    """Read a file written by :func:`write_private`, after checking its mode."""
    check_private(path)
    return path.read_bytes()


def load_or_create_key(path: Path) -> bytes:
    """The Fernet key in ``path``, created (``0600``) on first use."""
    if path.exists():
        key = read_private(path).strip()
        try:
            Fernet(key)
        except ValueError:
            raise OAuthError(
                f"{path} does not hold a valid encryption key; delete it and run `codemode login`"
            ) from None
        return key
    key = Fernet.generate_key()
    write_private(path, key + b"\n")
    return key


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte key for one ``purpose`` (HKDF-SHA256), so one configured key can both encrypt
    the state file and sign tokens without the two uses ever sharing key material."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        master
    )


class SecretBox:
    """Authenticated encryption of small JSON documents with one Fernet key."""

    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except ValueError:
            raise OAuthError(
                "the OAuth encryption key is not a Fernet key (32 url-safe base64 bytes); "
                "generate one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            ) from None

    @classmethod
    def from_material(cls, material: bytes) -> SecretBox:
        """A box whose key is derived from arbitrary key material."""
        return cls(base64.urlsafe_b64encode(derive_key(material, "codemode-oauth-state")))

    def seal(self, plaintext: bytes) -> bytes:
        """Encrypt and authenticate ``plaintext``."""
        return self._fernet.encrypt(plaintext)

    def open(self, token: bytes, *, source: Path | str) -> bytes:
        """Decrypt what :meth:`seal` produced.

        Raises:
            OAuthError: the data was tampered with or sealed under another key.
        """
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise OAuthError(
                f"{source} cannot be decrypted with the current key (it was changed or the key "
                "was replaced); delete it and log in again"
            ) from None
