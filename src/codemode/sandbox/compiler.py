"""The compiler half of the first layer: RestrictedPython's policy plus the sandbox's additions.

Runs inside the worker (parse and AST bombs only ever cost the worker). The policy refuses names
and attributes starting with ``_``, frame/code/generator attributes, ``exec``/``eval`` calls,
``async``, ``match``, ``except*`` and class hooks; this subclass also lets script classes define a
few harmless magic methods and rewrites ``d[k] += v`` / ``obj.a += v`` into guarded reads and
writes (RestrictedPython refuses them outright, and scripts count things that way all the time).
"""

from __future__ import annotations

import ast
import re
import types
from typing import Any

from RestrictedPython.compile import compile_restricted_exec
from RestrictedPython.transformer import IOPERATOR_TO_STR, RestrictingNodeTransformer

__all__ = [
    "READABLE_DUNDERS",
    "SCRIPT_NAME",
    "CompileFailure",
    "SandboxTransformer",
    "compile_script",
]

SCRIPT_NAME = "<script>"

# Magic methods a script class may define, beyond RestrictedPython's own (__init__, comparisons,
# __contains__). Hooks that run at class creation, pickling or attribute lookup stay refused.
_EXTRA_MAGIC = frozenset(
    {
        "__repr__",
        "__str__",
        "__len__",
        "__iter__",
        "__next__",
        "__hash__",
        "__bool__",
        "__getitem__",
    }
)


# Dunder attributes a script may read (never write): the guard hands back only a str, so
# ``type(x).__name__`` and ``func.__name__`` work without opening the class or function.
READABLE_DUNDERS = frozenset({"__name__"})


class CompileFailure(Exception):
    """The script does not compile under the sandbox policy."""

    def __init__(self, kind: str, message: str, line: int | None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line


class SandboxTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy plus a few more magic methods for script classes."""

    def check_name(self, node: Any, name: str | None, allow_magic_methods: bool = False) -> None:
        if allow_magic_methods and name in _EXTRA_MAGIC and getattr(node, "col_offset", 0) != 0:
            return
        super().check_name(node, name, allow_magic_methods)

    def visit_Attribute(self, node: ast.Attribute) -> Any:
        """Reads of :data:`READABLE_DUNDERS` become ``_getattr_`` calls; other rules unchanged."""
        if node.attr in READABLE_DUNDERS and isinstance(node.ctx, ast.Load):
            node = self.node_contents_visit(node)
            call = ast.Call(
                ast.Name("_getattr_", ast.Load()), [node.value, ast.Constant(node.attr)], []
            )
            return ast.fix_missing_locations(ast.copy_location(call, node))
        return super().visit_Attribute(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """Allow ``d[k] += v`` and ``obj.attr += v`` through the guards (RestrictedPython refuses them).

        ``t[k] op= v`` becomes ``_tmpA = t; _tmpB = k;
        _write_(_tmpA)[_tmpB] = _inplacevar_(op, _getitem_(_tmpA, _tmpB), v)``: every read and
        write still goes through ``_getitem_``/``_getattr_`` and ``_write_``.
        """
        if not isinstance(node.target, (ast.Subscript, ast.Attribute)):
            return super().visit_AugAssign(node)
        if isinstance(node.target, ast.Subscript) and isinstance(node.target.slice, ast.Slice):
            self.error(node, "Augmented assignment of slices is not allowed.")
            return node
        node = self.node_contents_visit(node)
        target = node.target
        assert isinstance(target, (ast.Subscript, ast.Attribute))
        write_call = target.value
        if not (
            isinstance(write_call, ast.Call) and write_call.args
        ):  # pragma: no cover - an error was recorded
            return node
        obj = self.gen_tmp_name()
        stmts: list[ast.stmt] = [
            ast.Assign(targets=[ast.Name(obj, ast.Store())], value=write_call.args[0])
        ]
        guarded_obj = ast.Call(ast.Name("_write_", ast.Load()), [ast.Name(obj, ast.Load())], [])
        new_target: ast.expr
        if isinstance(target, ast.Subscript):
            key = self.gen_tmp_name()
            stmts.append(ast.Assign(targets=[ast.Name(key, ast.Store())], value=target.slice))
            current: ast.expr = ast.Call(
                ast.Name("_getitem_", ast.Load()),
                [ast.Name(obj, ast.Load()), ast.Name(key, ast.Load())],
                [],
            )
            new_target = ast.Subscript(guarded_obj, ast.Name(key, ast.Load()), ast.Store())
        else:
            current = ast.Call(
                ast.Name("_getattr_", ast.Load()),
                [ast.Name(obj, ast.Load()), ast.Constant(target.attr)],
                [],
            )
            new_target = ast.Attribute(guarded_obj, target.attr, ast.Store())
        op = ast.Constant(IOPERATOR_TO_STR[type(node.op)])
        value = ast.Call(ast.Name("_inplacevar_", ast.Load()), [op, current, node.value], [])
        stmts.append(ast.Assign(targets=[new_target], value=value))
        for stmt in stmts:
            ast.copy_location(stmt, node)
            ast.fix_missing_locations(stmt)
        return stmts


# What to write instead of a refused name that scripts often reach for (matched in the message).
_INSTEAD = {
    '"__init__"': "a class may define __init__ but not call one: super().__init__() and "
    "Parent.__init__(self) are refused; set every field in one class's __init__, or use a dict",
    '"__class__"': "use type(x).__name__ or isinstance(x, SomeClass)",
    '"__dict__"': "read the fields you need by name, or keep records as dicts",
    "Await statements": "SDK calls in a script are synchronous and return their result: "
    "drop the await",
    "AsyncFunctionDef statements": "scripts run synchronously: use def, and call the SDK "
    "without await",
    "AsyncFor statements": "scripts run synchronously: use a plain for loop (result.all() pages)",
    "AsyncWith statements": "scripts run synchronously: use a plain with, or none",
}

# RestrictedPython writes "Line None: ... at statement: None" when the parser has no position
# (e.g. a NUL byte in the source): the placeholders are dropped, not shown to the model.
_LINE = re.compile(r"^Line (\d+|None): (.*?)(?: at statement: None)?$", re.DOTALL)


def compile_script(source: str) -> types.CodeType:
    """Compile ``source`` under the sandbox policy.

    Raises:
        CompileFailure: a syntax error or a construct the policy refuses (first one, with line).
    """
    try:
        result = compile_restricted_exec(source, filename=SCRIPT_NAME, policy=SandboxTransformer)
    except (RecursionError, MemoryError):
        raise CompileFailure(
            "SyntaxError", "the script is nested too deeply to compile; flatten it", None
        ) from None
    if result.errors or result.code is None:
        first = result.errors[0] if result.errors else "the script could not be compiled"
        match = _LINE.match(first)
        line = int(match.group(1)) if match and match.group(1) != "None" else None
        text = match.group(2) if match else first
        kind = (
            "SyntaxError"
            if "SyntaxError" in text or "IndentationError" in text
            else "ForbiddenSyntax"
        )
        return_text = text.strip()
        # The type is named once ("SyntaxError: invalid syntax", not "SyntaxError: SyntaxError:").
        if kind == "SyntaxError":
            return_text = return_text.removeprefix("SyntaxError: ")
        if kind == "ForbiddenSyntax":
            instead = next((v for k, v in _INSTEAD.items() if k in return_text), None)
            return_text += (
                f" ({instead or 'the sandbox refuses this construct; write it without it'})"
            )
        raise CompileFailure(kind, return_text, line)
    return result.code
