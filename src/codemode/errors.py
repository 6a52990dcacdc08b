"""The root of every error this project raises, and the cross-cutting ones.

The tree::

    CodemodeError                   anything raised by codemode
    ├── ConfigError                 the operator must fix a setting (names the setting or command)
    ├── CatalogError                the catalog or an extension file is invalid
    └── (per package)               klaviyo.KlaviyoError, sandbox.SandboxError, scanner.ScannerError, ...

Errors are split by who reads them: messages for an agent are one or two lines saying what went
wrong and what to do instead; messages for an operator name the setting or command that fixes it.
Neither ever carries a secret or a host traceback.
"""

from __future__ import annotations

__all__ = ["CatalogError", "CodemodeError", "ConfigError"]


class CodemodeError(Exception):
    """Base class of every error raised by codemode."""


class ConfigError(CodemodeError):
    """A setting, file or environment variable is wrong; the message names the fix."""


class CatalogError(CodemodeError):
    """The action catalog (built-in or an operator's extension) is invalid or an id is unknown."""
