"""Attacks in styles the guards were not written for: names built at run time, lying str
subclasses, full-width letters, spies that watch what they are compared with, descriptors,
exception chains, standard-library objects that hold other objects, resource bombs, store poison,
terminal control characters, and the import system. Each states its exact outcome; every run is
checked by ``conftest.execute`` (canary absent, no traceback or host path, worker gone).
"""

from __future__ import annotations

import pytest

from codemode.sandbox import Sandbox

from .conftest import TEST_LIMITS, execute

pytestmark = pytest.mark.asyncio(loop_scope="module")

DUNDER = "names starting with _ are Python internals"
COMPILE = "starts with"
MEMORY = f"memory limit of {TEST_LIMITS.memory_mb} MiB exceeded"
WALL = f"wall time limit of {TEST_LIMITS.wall_s:g} s exceeded"
CPU = f"CPU time limit of {TEST_LIMITS.cpu_s:g} s exceeded"

# (id, script, expected): ("error", type, fragment), ("output", exact) or ("limit", fragments)
ATTACKS: list[tuple[str, str, tuple[str, ...]]] = [
    # names built at run time
    (
        "chr_built_dunder",
        "n = ''.join(map(chr, [95, 95, 99, 108, 97, 115, 115, 95, 95]))\nprint(getattr(1, n))",
        ("error", "ForbiddenError", DUNDER),
    ),
    (
        "reversed_dunder",
        "print(getattr(1, '__ssalc__'[::-1]))",
        ("error", "ForbiddenError", DUNDER),
    ),
    (
        "bytes_decoded_dunder",
        "print(getattr(1, b'__class__'.decode()))",
        ("error", "ForbiddenError", DUNDER),
    ),
    (
        "lying_str_subclass_name",
        "class N(str):\n    def startswith(self, *a):\n        return False\nprint(getattr(1, N('__class__')))",
        ("error", "TypeError", "attribute names must be plain str"),
    ),
    (
        "fullwidth_eval",
        "print(\uff45\uff56\uff41\uff4c('1'))",
        ("error", "ForbiddenSyntax", "Eval calls are not allowed"),
    ),
    (
        "fullwidth_dunder_attr",
        "x = 1\nprint(x.__\uff43\uff4c\uff41\uff53\uff53__)",
        ("error", "ForbiddenSyntax", COMPILE),
    ),
    (
        "built_frame_name",
        "def g():\n    yield 1\nprint(getattr(g(), 'gi_' + 'frame'))",
        ("error", "ForbiddenError", "'gi_frame' is closed"),
    ),
    (
        "gi_code_literal",
        "def g():\n    yield 1\nprint(g().gi_code)",
        ("error", "ForbiddenSyntax", "restricted name"),
    ),
    (
        "exception_cause_chain",
        "try:\n    raise ValueError('a') from KeyError('b')\nexcept ValueError as e:\n    print(getattr(e, '__cause__'))",
        ("error", "ForbiddenError", DUNDER),
    ),
    # spies and descriptors
    (
        "hash_and_eq_spy_is_never_consulted_by_the_guards",
        "seen = []\nclass Spy:\n    def __hash__(self):\n        seen.append('hash')\n        return 1\n"
        "    def __eq__(self, other):\n        seen.append(repr(other))\n        return True\n"
        "class Box:\n    pass\nb = Box()\nb.s = Spy()\nx = b.s\ny = getattr(b, 's')\nz = {'k': Spy()}['k']\n"
        "w = [Spy()][0]\nprint(seen)",
        ("output", "[]\n"),
    ),
    (
        "eq_spy_in_list_index",
        "class A:\n    def __eq__(self, other):\n        store['seen'] = repr(other)\n        return True\n"
        "print([1, A()].index(A()), store['seen'])",
        ("output", "0 1\n"),
    ),
    (
        "property_fget_is_the_scripts_own",
        "class A:\n    @property\n    def p(self):\n        return 1\nprint(A.p.fget.__name__)",
        ("output", "p\n"),
    ),
    (
        "classmethod_func",
        "class A:\n    @classmethod\n    def m(cls):\n        return 1\nprint(A.m.__func__)",
        ("error", "ForbiddenSyntax", COMPILE),
    ),
    (
        "bound_method_self",
        "print(getattr(klaviyo.call, '__self__'))",
        ("error", "ForbiddenError", DUNDER),
    ),
    (
        "zero_arg_super_outside_class",
        "print(super())",
        ("error", "RuntimeError", "super(): no arguments"),
    ),
    (
        "super_of_builtin",
        "print(super(int, 1).real)",
        ("error", "AttributeError", "'super' object has no attribute 'real'"),
    ),
    (
        "metaclass_from_type",
        "class M(type):\n    pass",
        ("error", "TypeError", "metaclass conflict"),
    ),
    (
        "init_subclass_hook",
        "class A:\n    def __init_subclass__(cls):\n        pass",
        ("error", "ForbiddenSyntax", "__init_subclass__"),
    ),
    (
        "getattr_hook",
        "class A:\n    def __getattr__(self, n):\n        return n",
        ("error", "ForbiddenSyntax", "__getattr__"),
    ),
    (
        "decorator_replaces_function",
        "def deco(f):\n    return len\n@deco\ndef h():\n    pass\nprint(h('abc'))",
        ("output", "3\n"),
    ),
    ("async_def", "async def f():\n    pass", ("error", "ForbiddenSyntax", "AsyncFunctionDef")),
    (
        "nonlocal",
        "def f():\n    x = 1\n    def g():\n        nonlocal x\n",
        ("error", "ForbiddenSyntax", "Nonlocal"),
    ),
    # standard-library objects that hold other objects
    (
        "namedtuple_dunder_field",
        "import collections\nP = collections.namedtuple('P', ['x', '__class__'])",
        ("error", "ValueError", "cannot start with an underscore"),
    ),
    (
        "namedtuple_private_api",
        "import collections\nP = collections.namedtuple('P', 'x y')\nprint(P._fields)",
        ("error", "ForbiddenSyntax", COMPILE),
    ),
    (
        "partial_internals",
        "import functools\np = functools.partial(len, [1])\nprint(p.func, p.args)",
        ("output", "<built-in function len> ([1],)\n"),
    ),
    (
        "match_object_links",
        "import re\nm = re.match('a', 'a')\nprint(m.re.pattern, m.string)",
        ("output", "a a\n"),
    ),
    (
        "decimal_context_write",
        "import decimal\nc = decimal.getcontext()\nc.prec = 10**6",
        ("error", "ForbiddenError", "cannot change a Context object"),
    ),
    (
        "random_state_closed",
        "import random\nprint(random.getstate())",
        ("error", "AttributeError", "random.getstate is not available"),
    ),
    (
        "json_object_hook",
        "import json\nprint(json.loads('{\"a\": 1}', object_hook=lambda d: type(d).__name__))",
        ("output", "dict\n"),
    ),
    (
        "filter_builder_escapes_quotes",
        "print(F.equals('email', 'a\"),any(id,[\"x'))",
        ("output", 'equals(email,"a\\"),any(id,[\\"x")\n'),
    ),
    (
        "klaviyo_error_is_read_only",
        "e = KlaviyoError('x')\ne.status = 500",
        ("error", "ForbiddenError", "cannot change a KlaviyoError object"),
    ),
    (
        "module_function_is_read_only",
        "import json\njson.dumps.x = 1",
        ("error", "ForbiddenError", "cannot change a function object"),
    ),
    (
        "error_class_mro",
        "print(klaviyo.errors.NotFoundError.mro())",
        ("error", "ForbiddenError", "'mro' is closed"),
    ),
    (
        "result_private_pager",
        "r = klaviyo.profiles.get_profiles()\nprint(r._fetch_next)",
        ("error", "ForbiddenSyntax", COMPILE),
    ),
    (
        "result_public_surface",
        "r = klaviyo.profiles.get_profiles()\nprint(r.info, r.status, r.next_cursor)",
        ("output", "None 200 c2\n"),
    ),
    (
        "proxy_private_caller",
        "print(klaviyo.profiles._caller)",
        ("error", "ForbiddenSyntax", COMPILE),
    ),
    (
        "proxy_is_not_callable",
        "print(callable(klaviyo), callable(klaviyo.call))",
        ("output", "False True\n"),
    ),
    (
        "proxy_unknown_group",
        "klaviyo.profilez",
        ("error", "AttributeError", "did you mean profiles"),
    ),
    (
        "proxy_unknown_operation",
        "klaviyo.profiles.get_profilez",
        ("error", "AttributeError", "did you mean get_profile"),
    ),
    # builtins that are not there
    ("vars", "print(vars())", ("error", "NameError", "vars is not available")),
    ("dir", "print(dir(klaviyo))", ("error", "NameError", "dir is not available")),
    ("globals", "print(globals())", ("error", "NameError", "globals is not available")),
    (
        "memoryview",
        "print(memoryview(b'x'))",
        ("error", "NameError", "memoryview is not available"),
    ),
    ("open", "print(open)", ("error", "NameError", "open is not available")),
    ("help", "help()", ("error", "NameError", "help is not available")),
    ("breakpoint", "breakpoint()", ("error", "ForbiddenSyntax", "reserved name")),
    ("system_exit", "raise SystemExit(0)", ("error", "NameError", "SystemExit is not available")),
    (
        "keyboard_interrupt",
        "raise KeyboardInterrupt",
        ("error", "NameError", "KeyboardInterrupt is not available"),
    ),
    (
        "base_exception",
        "print(BaseException)",
        ("error", "NameError", "BaseException is not available"),
    ),
    ("builtins_name", "print(__builtins__)", ("error", "ForbiddenSyntax", COMPILE)),
    ("module_dunder_name", "print(__name__)", ("error", "ForbiddenSyntax", COMPILE)),
    # the import system
    ("import_sys", "import sys", ("error", "ImportError", "module 'sys' is not available")),
    ("relative_import", "from . import x", ("error", "ImportError", "module '' is not available")),
    (
        "import_importlib",
        "import importlib",
        ("error", "ImportError", "module 'importlib' is not available"),
    ),
    (
        "second_name_in_import",
        "import json as j, os",
        ("error", "ImportError", "module 'os' is not available"),
    ),
    (
        "star_import",
        "from json import *",
        ("error", "ForbiddenSyntax", '"*" imports are not allowed'),
    ),
    ("private_module", "import _strptime", ("error", "ForbiddenSyntax", COMPILE)),
    # resource bombs: contained by the worker's limits, reported with the limit's name
    ("big_string", "s = 'a' * (2**31)", ("error", "LimitError", MEMORY)),
    ("big_range_list", "x = list(range(10**10))", ("error", "LimitError", MEMORY)),
    ("big_bytes", "print(bytes(10**10))", ("error", "LimitError", MEMORY)),
    (
        "growth_loop",
        "l = []\nwhile True:\n    l.append('x' * 10**6)",
        ("error", "LimitError", MEMORY),
    ),
    (
        "decimal_precision_bomb",
        "import decimal\nwith decimal.localcontext(prec=100000000):\n    print(decimal.Decimal(1) / decimal.Decimal(7))",
        ("error", "LimitError", MEMORY),
    ),
    ("huge_power", "print(10**10**8)", ("limit", WALL, CPU)),
    ("factorial_bomb", "import math\nprint(math.factorial(10**7) > 1)", ("limit", WALL, CPU)),
    (
        "catastrophic_regex",
        "import re\nprint(re.match('(a+)+$', 'a' * 40 + 'b'))",
        ("limit", WALL, CPU),
    ),
    ("busy_loop", "while True:\n    pass", ("limit", WALL, CPU)),
    ("sleep_forever", "import time\ntime.sleep(100)", ("limit", WALL)),
    (
        "deep_recursion",
        "def f(n):\n    return f(n + 1)\nf(0)",
        ("error", "RecursionError", "use a loop instead"),
    ),
    # the session store
    ("store_nan", "store['x'] = float('nan')", ("error", "StoreError", "store['x'] is not JSON")),
    ("store_cycle", "store['self'] = store", ("error", "StoreError", "Circular reference")),
    ("store_replaced", "store = []", ("error", "StoreError", "store must stay a dict")),
    (
        "store_too_big",
        "store['big'] = 'x' * 10**6",
        ("error", "StoreError", "the limit is 262144 bytes"),
    ),
    (
        "store_object",
        "class A:\n    pass\nstore['a'] = A()",
        ("error", "StoreError", "store['a'] is not JSON"),
    ),
    # output
    (
        "terminal_controls_are_data",
        "print('\\x1b[31mred\\x1b[0m', '\\x00nul')",
        ("output", "\x1b[31mred\x1b[0m \x00nul\n"),
    ),
    (
        "huge_repr",
        "class R:\n    def __repr__(self):\n        return 'r' * 10**6\nprint(R())",
        ("truncated", "r" * 100),
    ),
    ("print_to_none_file", "print('x', file=None)", ("output", "x\n")),
    (
        "print_to_a_file",
        "class W:\n    def write(self, s):\n        pass\nprint('x', file=W())",
        ("error", "ForbiddenError", "print(file=...) is closed"),
    ),
    (
        "json_tuple_keys",
        "import json\nprint(json.dumps({(1, 2): 3}))",
        ("error", "TypeError", "keys must be str"),
    ),
]


@pytest.mark.parametrize(("name", "code", "expected"), ATTACKS, ids=[a[0] for a in ATTACKS])
async def test_attack_in_an_unexpected_style_has_its_exact_outcome(
    sandbox: Sandbox, name: str, code: str, expected: tuple[str, ...]
) -> None:
    result = await execute(sandbox, code)
    kind = expected[0]
    if kind == "output":
        assert result.error is None, (name, result.error)
        assert result.output == expected[1], (name, result.output)
    elif kind == "truncated":
        assert result.error is None and result.truncated, (name, result.error)
        assert result.output.startswith(expected[1]) and "[output truncated:" in result.output
        assert len(result.output.encode()) < TEST_LIMITS.output_bytes + 400
    elif kind == "limit":
        assert result.error is not None and result.error.type == "LimitError", (name, result.error)
        assert any(f in result.error.message for f in expected[1:]), (name, result.error)
    else:
        assert result.error is not None, (name, result.output)
        assert result.error.type == expected[1], (name, result.error)
        assert expected[2] in result.error.message, (name, result.error.message)
