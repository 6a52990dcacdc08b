"""The RestrictedPython layer at run time: guard hooks, builtins, module proxies, the printer.

The compile-time half is ``compiler.py`` (re-exported here).

The policy itself is data (``sandbox/policy.toml``, shipped as ``codemode/_sandbox_policy``);
this module enforces it. It runs in the zygote (to build everything once, before forking) and in
the workers. It is the first layer only: the process around it (confine.py) is the boundary.
"""

from __future__ import annotations

import builtins
import importlib
import operator
import tomllib
import types
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES

from codemode.sandbox import scriptlib
from codemode.sandbox.compiler import READABLE_DUNDERS, SCRIPT_NAME, CompileFailure, compile_script
from codemode.sandbox.scriptlib import ForbiddenError

__all__ = [
    "SCRIPT_NAME",
    "CompileFailure",
    "ForbiddenError",
    "ModuleProxy",
    "OutputSink",
    "build_globals",
    "compile_script",
    "load_policy",
    "policy_path",
]


# Implementations of the builtins the policy may list; names absent from the policy are not given.
_BUILTIN_IMPLS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in [
        "abs",
        "all",
        "any",
        "ascii",
        "bin",
        "bool",
        "bytes",
        "bytearray",
        "callable",
        "chr",
        "classmethod",
        "complex",
        "dict",
        "divmod",
        "enumerate",
        "filter",
        "float",
        "frozenset",
        "hash",
        "hex",
        "id",
        "int",
        "isinstance",
        "issubclass",
        "iter",
        "len",
        "list",
        "map",
        "max",
        "min",
        "next",
        "object",
        "oct",
        "ord",
        "pow",
        "property",
        "range",
        "repr",
        "reversed",
        "round",
        "set",
        "slice",
        "sorted",
        "staticmethod",
        "str",
        "sum",
        "super",
        "tuple",
        "zip",
        "ArithmeticError",
        "AssertionError",
        "AttributeError",
        "Exception",
        "ImportError",
        "IndexError",
        "KeyError",
        "LookupError",
        "MemoryError",
        "ModuleNotFoundError",
        "NameError",
        "NotImplementedError",
        "OverflowError",
        "RecursionError",
        "RuntimeError",
        "StopIteration",
        "TypeError",
        "UnboundLocalError",
        "UnicodeDecodeError",
        "UnicodeEncodeError",
        "UnicodeError",
        "ValueError",
        "ZeroDivisionError",
    ]
}
_BUILTIN_IMPLS.update({"None": None, "True": True, "False": False})

_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd,
    "-=": operator.isub,
    "*=": operator.imul,
    "/=": operator.itruediv,
    "//=": operator.ifloordiv,
    "%=": operator.imod,
    "**=": operator.ipow,
    "<<=": operator.ilshift,
    ">>=": operator.irshift,
    "&=": operator.iand,
    "|=": operator.ior,
    "^=": operator.ixor,
    "@=": operator.imatmul,
}

_DENIED_TYPES: dict[str, type] = {
    "module": types.ModuleType,
    "frame": types.FrameType,
    "code": types.CodeType,
    "traceback": types.TracebackType,
}


def policy_path() -> Path:
    """Where ``policy.toml`` lives: inside the wheel, else at the repository's ``sandbox/``."""
    package = Path(__file__).resolve().parent.parent
    shipped = package / "_sandbox_policy" / "policy.toml"
    return shipped if shipped.is_file() else package.parent.parent / "sandbox" / "policy.toml"


@cache
def load_policy() -> dict[str, Any]:
    """The parsed policy file (cached: read once, in the zygote)."""
    with policy_path().open("rb") as handle:
        return tomllib.load(handle)


# ---------------------------------------------------------------------------------------------
# Run-time guards
# ---------------------------------------------------------------------------------------------


def _refuse_value(value: Any, what: str) -> Any:
    for kind, klass in _DENIED_TYPES.items():
        if isinstance(value, klass):
            reason = load_policy()["attributes"]["denied_types"][kind]
            raise ForbiddenError(f"{what} would hand the script a {kind} object: {reason}")
    if value is builtins.__dict__:
        raise ForbiddenError(f"{what} would hand the script the real builtins")
    return value


def guarded_getattr(obj: Any, name: Any, *default: Any) -> Any:
    """``obj.name`` with the sandbox's attribute rules (also the script's ``getattr``)."""
    if type(name) is not str:
        raise TypeError("attribute names must be plain str")
    if len(default) > 1:
        raise TypeError("getattr takes at most 3 arguments")
    rules = load_policy()["attributes"]
    if name in READABLE_DUNDERS:
        value = getattr(obj, name, *default)
        if type(value) is str or (default and value is default[0]):
            return value
        raise ForbiddenError(f"attribute {name!r} is readable only when it is a name (a str)")
    if name.startswith("_"):
        raise ForbiddenError(f"attribute {name!r} is closed in the sandbox: {rules['underscore']}")
    if name in INSPECT_ATTRIBUTES or name in rules["denied"]:
        reason = rules["denied"].get(name, "interpreter internals")
        raise ForbiddenError(f"attribute {name!r} is closed in the sandbox ({reason})")
    if name == "obj" and isinstance(obj, AttributeError):
        # CVE-2024-47532: the object a failed lookup ran on may be one the script never held.
        raise ForbiddenError("AttributeError.obj is closed in the sandbox; read .name instead")
    return _safe_value(getattr(obj, name, *default), f"attribute {name!r}")


def _safe_value(value: Any, what: str) -> Any:
    """``value`` for the script: str's real format methods swapped for guarded ones, and no
    modules, frames, code or tracebacks."""
    found = scriptlib.real_format_method(value)
    if found is not None:
        return scriptlib.format_method(_formatter(), *found)
    return _refuse_value(value, what)


@cache
def _formatter() -> scriptlib.SafeFormatter:
    return scriptlib.SafeFormatter(guarded_getattr, guarded_getitem)


def guarded_hasattr(obj: Any, name: Any) -> bool:
    """``hasattr`` through the same rules (a closed name answers False)."""
    try:
        guarded_getattr(obj, name)
    except (AttributeError, ForbiddenError):
        return False
    return True


def guarded_getitem(obj: Any, key: Any) -> Any:
    """``obj[key]``; refuses results that are modules, frames, code or tracebacks."""
    return _safe_value(obj[key], "this subscript")


class ScriptMeta(type):
    """Metaclass of every class a script defines: marks objects the script may change."""


class _ReadOnly:
    __slots__ = ("_target",)

    def __init__(self, target: Any) -> None:
        object.__setattr__(self, "_target", target)

    def _refuse(self, *args: Any) -> None:
        kind = type(object.__getattribute__(self, "_target")).__name__
        raise ForbiddenError(
            f"cannot change a {kind} object in the sandbox; only dicts, lists and objects of "
            "classes your script defines can be modified"
        )

    __setattr__ = _refuse
    __delattr__ = _refuse
    __setitem__ = _refuse
    __delitem__ = _refuse


_MUTABLE = (dict, list, set, bytearray)


def write_guard(obj: Any) -> Any:
    """The object to assign through: itself when the script may change it, else a refusal."""
    if isinstance(obj, _MUTABLE) or isinstance(type(obj), ScriptMeta):
        return obj
    return _ReadOnly(obj)


def guarded_setattr(obj: Any, name: Any, value: Any) -> None:
    """``setattr`` for scripts: only on their own objects, never ``_`` names."""
    if type(name) is not str or name.startswith("_"):
        raise ForbiddenError(f"cannot set attribute {name!r}: names starting with _ are closed")
    setattr(write_guard(obj), name, value)


def guarded_delattr(obj: Any, name: Any) -> None:
    """``delattr`` for scripts, with the rules of :func:`guarded_setattr`."""
    if type(name) is not str or name.startswith("_"):
        raise ForbiddenError(f"cannot delete attribute {name!r}: names starting with _ are closed")
    delattr(write_guard(obj), name)


def inplace(op: str, target: Any, value: Any) -> Any:
    """``target op= value`` for names (``x += 1``)."""
    return _INPLACE[op](target, value)


def apply_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Calls with ``*args`` / ``**kwargs`` (nothing to guard: arguments are the script's own)."""
    return func(*args, **kwargs)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------


class ModuleProxy:
    """An allow-list view of a module: only the policy's names exist on it.

    It has no ``__name__``, so ``from json import decoder`` cannot fall back to ``sys.modules``.
    """

    __slots__ = ("_label", "_names")

    def __init__(self, label: str, names: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_names", dict(names))

    def __getattr__(self, name: str) -> Any:
        names = object.__getattribute__(self, "_names")
        if name in names:
            return names[name]
        label = object.__getattribute__(self, "_label")
        raise AttributeError(
            f"{label}.{name} is not available in the sandbox; available: {', '.join(sorted(names))}"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise ForbiddenError(
            f"{object.__getattribute__(self, '_label')} is read-only in the sandbox"
        )

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)

    def __repr__(self) -> str:
        return f"<sandbox module {object.__getattribute__(self, '_label')}>"


# Module functions a script gets in a safer or more useful form than the real one.
_REPLACED: dict[tuple[str, str], Any] = {("json", "dumps"): scriptlib.json_dumps}


@cache
def module_proxies() -> dict[str, ModuleProxy]:
    """One proxy per allowed module, built from the policy (cached in the zygote)."""
    proxies: dict[str, ModuleProxy] = {}
    for name, entry in load_policy()["modules"].items():
        real = importlib.import_module(name)
        proxies[name] = ModuleProxy(
            name,
            {attr: _REPLACED.get((name, attr)) or getattr(real, attr) for attr in entry["names"]},
        )
    return proxies


def allowed_modules() -> list[str]:
    """Names a script may import, sorted."""
    return sorted(load_policy()["modules"])


def guarded_import(
    name: str,
    globals: Any = None,
    locals: Any = None,
    fromlist: Iterable[str] | None = (),
    level: int = 0,
) -> ModuleProxy:
    """The ``__import__`` the script gets: allowed modules as proxies, everything else refused."""
    internal = load_policy().get("internal_imports", {})
    if name in internal and name.startswith("_") and level == 0:
        # Only C code of an allowed module asks for these (scripts cannot write a name that
        # starts with "_"); it needs the real module, and never hands it to the script.
        return importlib.import_module(name)  # type: ignore[return-value]
    proxies = module_proxies()
    proxy = proxies.get(name) if level == 0 else None
    if proxy is None:
        top = str(name).partition(".")[0]
        instead = load_policy().get("closed_modules", {}).get(top) if level == 0 else None
        raise ImportError(
            f"module {str(name)[:80]!r} is not available in the sandbox; "
            + (f"{instead}. " if instead else "")
            + f"allowed modules: {', '.join(allowed_modules())} (and the global `klaviyo` for the API)"
        )
    for attr in fromlist or ():
        if attr not in object.__getattribute__(proxy, "_names"):
            guarded_getattr(proxy, attr)  # raises with the list of what is available
    return proxy


# ---------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------


class OutputSink:
    """The one print collector of a run (RestrictedPython's default is per function scope).

    Keeps up to ``limit`` bytes, hands each kept piece to ``emit`` (the host stream), and counts
    what it drops.
    """

    def __init__(self, limit: int, emit: Callable[[str], None]) -> None:
        self.limit = limit
        self.emit = emit
        self.kept = 0
        self.dropped = 0
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        """Keep ``text`` while there is room; count the rest."""
        if not isinstance(text, str):
            text = str(text)
        data = text.encode("utf-8", "replace")  # lone surrogates become "?"
        text = data.decode("utf-8")
        room = self.limit - self.kept
        if len(data) <= room:
            piece = text
        else:
            piece = data[:room].decode("utf-8", "ignore")
            self.dropped += len(data) - len(piece.encode("utf-8"))
        if piece:
            self.kept += len(piece.encode("utf-8"))
            self._parts.append(piece)
            self.emit(piece)
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered; present for code that expects a file."""

    def __call__(self) -> str:
        """The text kept so far (RestrictedPython's ``printed``)."""
        return "".join(self._parts)

    def _call_print(self, *objects: Any, **kwargs: Any) -> None:
        if kwargs.get("file") is not None:
            raise ForbiddenError(
                "print(file=...) is closed in the sandbox; everything printed is the output"
            )
        kwargs.pop("file", None)
        kwargs.pop("flush", None)
        print(*objects, file=self, **kwargs)


# ---------------------------------------------------------------------------------------------
# Globals
# ---------------------------------------------------------------------------------------------


@cache
def safe_builtins() -> dict[str, Any]:
    """The script's builtins: the policy's names, with guarded getattr/hasattr/setattr/delattr."""
    impls = dict(_BUILTIN_IMPLS)
    impls.update(
        type=scriptlib.safe_type,
        format=scriptlib.safe_format,
        getattr=guarded_getattr,
        hasattr=guarded_hasattr,
        setattr=guarded_setattr,
        delattr=guarded_delattr,
    )
    table = {name: impls[name] for name in load_policy()["builtins"]}
    # Needed by the interpreter itself (class statements, import statements); scripts cannot
    # name them because RestrictedPython refuses identifiers starting with "_".
    table["__build_class__"] = builtins.__build_class__
    table["__import__"] = guarded_import
    return table


def build_globals(sink: OutputSink, extra: Mapping[str, Any]) -> dict[str, Any]:
    """Fresh globals for one run: builtins, guard hooks, the shared printer, and ``extra``."""
    namespace: dict[str, Any] = {
        "__builtins__": dict(safe_builtins()),
        "__name__": "script",
        "__metaclass__": ScriptMeta,
        "_getattr_": guarded_getattr,
        "_getitem_": guarded_getitem,
        "_getiter_": iter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        "_write_": write_guard,
        "_inplacevar_": inplace,
        "_apply_": apply_call,
        "_print_": lambda _getattr=None: sink,
    }
    namespace.update(extra)
    return namespace


def closed_name_reason(name: str) -> str | None:
    """Why a builtin the script tried to use is not provided, when the policy says."""
    reason = load_policy().get("closed", {}).get(name)
    return str(reason) if reason is not None else None
