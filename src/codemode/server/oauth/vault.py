"""Where ``codemode login`` keeps the user's Klaviyo tokens between runs.

Two vaults, chosen by :func:`open_vault`:

* :class:`KeyringVault`: the OS keyring (macOS Keychain, Windows Credential Locker, Secret
  Service...) when the optional ``keyring`` package is installed with a usable backend;
* :class:`FileVault`: ``login.enc`` in the user config folder, ``0600``, Fernet-encrypted under a
  key kept in its own ``0600`` file (``login.key``). Either file being readable by other users
  makes every read fail with :class:`~codemode.server.oauth._errors.InsecureFileError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from codemode.server.oauth._errors import OAuthError
from codemode.server.oauth._secrets import (
    SecretBox,
    check_private,
    load_or_create_key,
    read_private,
    write_private,
)
from codemode.server.oauth.upstream import UpstreamTokens

__all__ = [
    "FileVault",
    "KeyringBackend",
    "KeyringVault",
    "StoredLogin",
    "TokenVault",
    "VaultKind",
    "open_vault",
]

VaultKind = Literal["auto", "keyring", "file"]
_SERVICE = "codemode"


@dataclass(frozen=True, slots=True)
class StoredLogin:
    """One local login: Klaviyo's tokens and what they were issued for.

    Attributes:
        tokens: access and refresh token (``repr`` hides them).
        base_url: the Klaviyo host the tokens belong to; a login is never sent elsewhere.
        client_id: the OAuth app that obtained them (needed to refresh and revoke).
        created_at: when the user logged in (seconds since the epoch).
    """

    tokens: UpstreamTokens
    base_url: str
    client_id: str
    created_at: float

    def to_bytes(self) -> bytes:
        """Serialise (for a vault, which encrypts or hands it to the keyring)."""
        document = {
            "version": 1,
            "tokens": self.tokens.to_json(),
            "base_url": self.base_url,
            "client_id": self.client_id,
            "created_at": self.created_at,
        }
        return json.dumps(document).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredLogin:
        """Inverse of :meth:`to_bytes`."""
        raw: dict[str, Any] = json.loads(data)
        return cls(
            tokens=UpstreamTokens.from_json(raw["tokens"]),
            base_url=str(raw["base_url"]),
            client_id=str(raw["client_id"]),
            created_at=float(raw["created_at"]),
        )


class TokenVault(Protocol):
    """Keeps one :class:`StoredLogin`."""

    @property
    def location(self) -> str:
        """Where the login is kept, for messages (never the content)."""
        ...

    def load(self) -> StoredLogin | None:
        """The stored login, or None."""
        ...

    def save(self, login: StoredLogin) -> None:
        """Replace the stored login."""
        ...

    def clear(self) -> None:
        """Forget the stored login."""
        ...


class FileVault:
    """An encrypted ``0600`` file with its key in a second ``0600`` file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / "login.enc"
        self.key_path = folder / "login.key"

    @property
    def location(self) -> str:
        """The token file's path."""
        return str(self.path)

    def load(self) -> StoredLogin | None:
        """Decrypt the login; refuses files other users can read."""
        if not self.path.exists():
            return None
        if not self.key_path.exists():
            raise OAuthError(
                f"{self.path} exists but its key {self.key_path} is missing; run `codemode login`"
            )
        check_private(self.key_path)
        box = SecretBox(load_or_create_key(self.key_path))
        return StoredLogin.from_bytes(box.open(read_private(self.path), source=self.path))

    def save(self, login: StoredLogin) -> None:
        """Encrypt and write the login (creating the key on first use)."""
        if self.key_path.exists():
            check_private(self.key_path)
        box = SecretBox(load_or_create_key(self.key_path))
        write_private(self.path, box.seal(login.to_bytes()))

    def clear(self) -> None:
        """Delete the token file (the key stays; it protects nothing on its own)."""
        self.path.unlink(missing_ok=True)


class KeyringBackend(Protocol):
    """The three functions of the ``keyring`` package that a vault needs."""

    def get_password(self, service_name: str, username: str) -> str | None: ...

    def set_password(self, service_name: str, username: str, password: str) -> None: ...

    def delete_password(self, service_name: str, username: str) -> None: ...


class KeyringVault:
    """The OS keyring, one entry per Klaviyo host."""

    def __init__(self, backend: KeyringBackend, *, base_url: str) -> None:
        self._backend = backend
        self._user = f"klaviyo-oauth:{base_url.rstrip('/')}"

    @property
    def location(self) -> str:
        """The keyring entry's name."""
        return f"OS keyring ({_SERVICE} / {self._user})"

    def load(self) -> StoredLogin | None:
        """The login in the keyring, or None."""
        value = self._backend.get_password(_SERVICE, self._user)
        return StoredLogin.from_bytes(value.encode()) if value else None

    def save(self, login: StoredLogin) -> None:
        """Store the login in the keyring."""
        self._backend.set_password(_SERVICE, self._user, login.to_bytes().decode())

    def clear(self) -> None:
        """Remove the keyring entry (no error when there is none)."""
        try:
            self._backend.delete_password(_SERVICE, self._user)
        except Exception as exc:  # keyring raises PasswordDeleteError for a missing entry
            if type(exc).__name__ != "PasswordDeleteError":
                raise


def _usable_keyring() -> KeyringBackend | None:
    """The ``keyring`` module when it is installed and its backend can store secrets.

    Headless Linux often has ``keyring`` with only the fail or null backend (or one whose
    priority is below 1, such as plaintext files); those are not used.
    """
    try:
        import keyring  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        priority = float(getattr(backend, "priority", 0))
    except Exception:  # a broken backend must not break login; the file vault still works
        return None
    name = f"{type(backend).__module__}.{type(backend).__name__}".lower()
    if priority < 1 or ".fail." in name or ".null." in name or "plaintext" in name:
        return None
    module: KeyringBackend = keyring
    return module


def open_vault(kind: VaultKind, *, folder: Path, base_url: str) -> TokenVault:
    """The vault to use.

    Args:
        kind: ``keyring`` (fail when none is usable), ``file``, or ``auto`` (keyring when usable).
        folder: the folder of the file vault.
        base_url: the Klaviyo host, naming the keyring entry.

    Raises:
        OAuthError: ``keyring`` was asked for and none is usable.
    """
    if kind == "file":
        return FileVault(folder)
    backend = _usable_keyring()
    if backend is not None:
        return KeyringVault(backend, base_url=base_url)
    if kind == "keyring":
        raise OAuthError(
            "no usable OS keyring: install `keyring` with a backend (e.g. Secret Service), or "
            "set CODEMODE_TOKEN_STORE=file to keep tokens in an encrypted 0600 file"
        )
    return FileVault(folder)
