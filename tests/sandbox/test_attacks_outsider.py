"""Attacks an outside author would write after reading the other suites: host-made generators and
coroutines, exception payloads, functools/itertools plumbing around the guards, templates that
arrive as data, bombs in the corners of the standard library (format widths, int/str conversion,
regex replacement, hashing), look-alike names, SDK misuse (nesting the host walks recursively,
header and filter injection, forged cursors, unknown keywords), dry runs of destructive calls,
and output tricks that re-encode outside text (JSON and ``ascii()`` escapes) to slip it past the
output scan. Each states its exact outcome; every run is checked by ``conftest.check_invariants``
(canary absent, no traceback or host path, worker gone).
"""

from __future__ import annotations

import gc
import json
import resource
import statistics
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import anyio
import httpx
import pytest
import pytest_asyncio

from codemode.catalog import load_catalog
from codemode.klaviyo import AsyncKlaviyo
from codemode.sandbox import BridgeReply, ExecutionResult, Limits, OutputScan, Sandbox, SdkBridge

from .conftest import CANARY, TEST_LIMITS, FakeBridge, check_invariants, execute

simulator = pytest.importorskip("codemode.simulator")

pytestmark = pytest.mark.asyncio(loop_scope="module")

DUNDER = "names starting with _ are Python internals"
COMPILE = "starts with"
MEMORY = f"memory limit of {TEST_LIMITS.memory_mb} MiB exceeded"
WALL = f"wall time limit of {TEST_LIMITS.wall_s:g} s exceeded"
CPU = f"CPU time limit of {TEST_LIMITS.cpu_s:g} s exceeded"
RECURSION = "use a loop instead of deep recursion"

# (id, script, expected): ("error", type, fragment), ("output", exact) or ("limit", fragments...)
LAYER1: list[tuple[str, str, tuple[str, ...]]] = [
    # --- generators and coroutines the *host* made (Result.pages / apages / aall) ---------------
    (
        "host_generator_frame_through_format_map",
        "r = klaviyo.profiles.get_profiles()\nprint('{g.gi_frame}'.format_map({'g': r.pages()}))",
        ("error", "ForbiddenError", "'gi_frame' is closed"),
    ),
    (
        "host_async_generator_frame_by_built_name",
        "r = klaviyo.profiles.get_profiles()\nprint(getattr(r.apages(), 'ag_' + 'frame'))",
        ("error", "ForbiddenError", "'ag_frame' is closed"),
    ),
    (
        "host_async_generator_await_slot",
        "r = klaviyo.profiles.get_profiles()\nprint(getattr(r.aall(), 'ag_await'))",
        ("error", "ForbiddenError", "'ag_await' is closed"),
    ),
    (
        "driving_a_host_coroutine_by_hand",
        "r = klaviyo.profiles.get_profiles()\nstep = r.apages().asend(None)\nprint(step.send(None))",
        ("error", "StopIteration", "<Result 200: 2 record(s), more pages>"),
    ),
    (
        "delegating_generator_exposes_no_host_iterator",
        "r = klaviyo.profiles.get_profiles()\ndef g():\n    yield from r.pages()\nit = g()\n"
        "next(it)\nprint(getattr(it, 'gi_yield' + 'from'))",
        ("error", "ForbiddenError", "'gi_yieldfrom' is closed"),
    ),
    (
        "host_generator_code_by_getattr_default",
        "r = klaviyo.profiles.get_profiles()\nprint(getattr(r.pages(), 'gi_code', None))",
        ("error", "ForbiddenError", "'gi_code' is closed"),
    ),
    (
        "host_generator_pages_are_plain_results",
        "r = klaviyo.profiles.get_profiles()\nprint([len(p) for p in r.pages()])",
        ("output", "[2, 1]\n"),
    ),
    (
        "thrown_exception_traceback_by_built_name",
        "def g():\n    yield 1\nit = g()\nnext(it)\ntry:\n    it.throw(ValueError('x'))\n"
        "except ValueError as e:\n    print(getattr(e, '__trace' + 'back__'))",
        ("error", "ForbiddenError", DUNDER),
    ),
    (
        "exception_context_by_built_name",
        "try:\n    try:\n        1 / 0\n    except ZeroDivisionError:\n        {}['k']\n"
        "except KeyError as e:\n    print(getattr(e, '__con' + 'text__'))",
        ("error", "ForbiddenError", DUNDER),
    ),
    # --- exceptions raised by host code, and what they carry ------------------------------------
    (
        "decimal_signal_classes_in_args_stay_closed",
        "import decimal\ntry:\n    decimal.Decimal('x')\nexcept decimal.InvalidOperation as e:\n"
        "    print(type(e.args[0][0]))",
        ("error", "ForbiddenError", "type() of a class"),
    ),
    (
        "klaviyo_error_payload_is_plain_data",
        "try:\n    klaviyo.profiles.get_profile('nope')\nexcept NotFoundError as e:\n"
        "    print(e.operation_id, e.source, e.errors, e.meta, type(e.errors).__name__)",
        ("output", "None {} [] {} list\n"),
    ),
    (
        "klaviyo_error_has_no_response_or_request",
        "try:\n    klaviyo.profiles.get_profile('nope')\nexcept NotFoundError as e:\n"
        "    print(hasattr(e, 'response'), hasattr(e, 'request'), hasattr(e, 'client'))",
        ("output", "False False False\n"),
    ),
    (
        "json_error_carries_only_the_document",
        "import json\ntry:\n    json.loads('{\"a\": ')\nexcept json.JSONDecodeError as e:\n"
        "    print(repr(e.doc), e.pos)",
        ("output", "'{\"a\": ' 6\n"),
    ),
    (
        "module_proxy_error_names_only_the_missing_attribute",
        "import re\ntry:\n    re.sre_compile\nexcept AttributeError as e:\n    print(e.name, e.args)",
        (
            "output",
            "sre_compile ('re.sre_compile is not available in the sandbox; available: "
            "A, ASCII, DOTALL, I, IGNORECASE, M, MULTILINE, S, VERBOSE, X, compile, error, escape, "
            "findall, finditer, fullmatch, match, search, split, sub, subn',)\n",
        ),
    ),
    (
        "exception_notes_are_closed",
        "e = ValueError('x')\ne.add_note('n')\nprint(getattr(e, '__no' + 'tes__'))",
        ("error", "ForbiddenError", DUNDER),
    ),
    # --- class machinery: descriptors, hooks spelled as assignments, host classes subclassed ----
    (
        "class_getitem_as_assignment",
        "class A:\n    __class_getitem__ = classmethod(lambda c, k: k)",
        ("error", "ForbiddenSyntax", COMPILE),
    ),
    (
        "metaclass_keyword_with_type",
        "class A(metaclass=type):\n    pass",
        ("error", "ForbiddenSyntax", "metaclass"),
    ),
    (
        "set_name_hook_as_method",
        "class D:\n    def __set_name__(self, owner, name):\n        pass",
        ("error", "ForbiddenSyntax", "__set_name__"),
    ),
    (
        "descriptor_get_hook",
        "class D:\n    def __get__(self, obj, kind):\n        return kind",
        ("error", "ForbiddenSyntax", "__get__"),
    ),
    (
        "subclassed_sdk_proxy_has_no_channel",
        "class P(type(klaviyo)):\n    pass\np = P(None, {'profiles': ['get_profiles']})\n"
        "try:\n    p.profiles.get_profiles()\nexcept AttributeError as e:\n    print('no channel')",
        ("output", "no channel\n"),
    ),
    (
        "subclassed_result_calls_only_what_the_script_gave_it",
        "r = klaviyo.profiles.get_profiles()\nclass R(type(r)):\n    pass\n"
        "x = R({'data': [], 'links': {'next': 'https://a/?page%5Bcursor%5D=z'}}, fetch_next=len)\n"
        "print(list(x.pages()))",
        ("error", "AttributeError", "'int' object has no attribute"),
    ),
    (
        "property_of_a_host_class_gives_a_plain_function",
        "r = klaviyo.profiles.get_profiles()\nf = type(r).records.fget\n"
        "print(f.__name__, getattr(f, '__glo' + 'bals__', 1))",
        ("error", "ForbiddenError", DUNDER),
    ),
    (
        "script_class_mro_by_getattr",
        "class A(int):\n    pass\nprint(getattr(A, 'mro')())",
        ("error", "ForbiddenError", "'mro' is closed"),
    ),
    # --- functools / itertools / builtins as plumbing around the guards -------------------------
    ("operator_module", "import operator", ("error", "ImportError", "'operator' is not available")),
    ("copy_module", "import copy", ("error", "ImportError", "'copy' is not available")),
    ("pickle_module", "import pickle", ("error", "ImportError", "'pickle' is not available")),
    (
        "reduce_getattr_reaches_format",
        "import functools\nf = functools.reduce(getattr, ['format'], '{0.__class__}')\nprint(f(1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "partial_of_getattr_reaches_format",
        "import functools\nf = functools.partial(getattr, '{0.__globals__}')('format')\nprint(f(len))",
        ("error", "ForbiddenError", "'__globals__'"),
    ),
    (
        "lru_cache_wrapping_str_format",
        "import functools\nf = functools.lru_cache(maxsize=None)(str.format)\n"
        "print(f('{0.__class__}', 1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "starmap_getattr_dunder",
        "import itertools\nprint(list(itertools.starmap(getattr, [(1, '__class__')])))",
        ("error", "ForbiddenError", DUNDER),
    ),
    (
        "max_key_is_format_map",
        "print(max(['{a.__class__}'], key=lambda t: str.format_map(t, {'a': 1})))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "format_method_as_class_attribute_binds_self",
        "class S(str):\n    f = str.format\nprint(S('{0.__class__}').f(1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "format_method_through_a_dict_view",
        "d = {'f': '{0.__class__}'.format}\nprint([f(1) for f in d.values()])",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "percent_format_only_reads_keys",
        "print('%(a)s-%(b)r' % {'a': klaviyo.profiles, 'b': 'x'})",
        ("output", "<klaviyo.profiles>-'x'\n"),
    ),
    # --- templates that arrive as data ----------------------------------------------------------
    (
        "template_from_an_answer_formatted_with_the_proxy",
        "t = klaviyo.profiles.get_profiles().records[0]['first_name'] + '{0.call.__self__}'\n"
        "print(t.format(klaviyo))",
        ("error", "ForbiddenError", "'__self__'"),
    ),
    (
        "template_kept_in_store_formatted_next_run",
        "store['t'] = '{0._caller._channel}'\nprint(store['t'].format(klaviyo))",
        ("error", "ForbiddenError", "'_caller'"),
    ),
    (
        "template_with_index_into_a_host_list",
        "r = klaviyo.profiles.get_profiles()\nprint('{0.records[0][email]}'.format(r))",
        ("output", "ada@example.com\n"),
    ),
    # --- look-alike names -----------------------------------------------------------------------
    (
        "cyrillic_ka_in_klaviyo",
        "print(\u043alaviyo)",
        ("error", "NameError", "'\u043alaviyo' is not defined"),
    ),
    (
        "latin_script_g_getattr",
        "print(\u0261etattr(1, 'real'))",
        ("error", "NameError", "'\u0261etattr' is not defined"),
    ),
    (
        "math_bold_exec_normalises_to_exec",
        "\U0001d41e\U0001d431\U0001d41e\U0001d41c('1')",
        ("error", "ForbiddenSyntax", "Exec calls are not allowed"),
    ),
    (
        "superscript_e_eval_normalises_to_eval",
        "print(\u1d49val('1'))",
        ("error", "ForbiddenSyntax", "Eval calls are not allowed"),
    ),
    (
        "fullwidth_low_line_dunder_in_source",
        "print((1).\uff3f\uff3fclass\uff3f\uff3f)",
        ("error", "SyntaxError", "invalid character '\uff3f' (U+FF3F)"),
    ),
    (
        "fullwidth_low_line_dunder_at_run_time_is_just_a_missing_name",
        "print(getattr(1, '\uff3f\uff3fclass\uff3f\uff3f', 'absent'))",
        ("output", "absent\n"),
    ),
    (
        "bidi_override_is_data",
        "print('\\u202eabc')",
        ("output", "\u202eabc\n"),
    ),
    # --- print to other places ------------------------------------------------------------------
    ("print_to_the_printer", "print('x', file=print)", ("error", "ForbiddenError", "file=")),
    ("print_to_the_store", "print('x', file=store)", ("error", "ForbiddenError", "file=")),
    (
        "print_end_is_capped",
        "print('x', end='y' * 10**6)",
        ("truncated", "xyyyy"),
    ),
    (
        "print_many_arguments_is_capped",
        "print(*(['z'] * 10**5), sep='')",
        ("truncated", "zzzz"),
    ),
    # --- bombs in the corners of the standard library -------------------------------------------
    ("pow_big_int", "x = pow(2, 10**9)", ("limit", MEMORY, CPU, WALL)),
    ("format_width_bomb", "print('{:>999999999}'.format(1))", ("limit", MEMORY)),
    ("fstring_width_bomb", "w = 10**9\nprint(f'{1:>{w}}')", ("limit", MEMORY)),
    ("list_of_references_bomb", "x = [None] * 10**9", ("limit", MEMORY)),
    ("bytearray_bomb", "x = bytearray(10**9)", ("limit", MEMORY)),
    (
        "regex_replacement_amplifies",
        "import re\nprint(len(re.sub('', 'x' * 10**4, 'y' * 10**5)))",
        ("limit", MEMORY, CPU, WALL),
    ),
    ("hash_of_a_huge_buffer", "import hashlib\nhashlib.sha256(b'x' * 10**9)", ("limit", MEMORY)),
    (
        "deque_of_count_spins_in_c",
        "import collections, itertools\ncollections.deque(itertools.count(), maxlen=1)",
        ("limit", WALL, CPU),
    ),
    ("comb_bomb", "import math\nprint(math.comb(10**7, 5 * 10**6) > 1)", ("limit", WALL, CPU)),
    (
        "int_to_str_digit_limit",
        "print(str(10**5000))",
        ("error", "ValueError", "Exceeds the limit"),
    ),
    (
        "str_to_int_digit_limit",
        "print(int('9' * 5000))",
        ("error", "ValueError", "Exceeds the limit"),
    ),
    (
        "json_dumps_of_deep_nesting",
        "import json\nx = []\nfor i in range(10**5):\n    x = [x]\nprint(json.dumps(x))",
        ("error", "RecursionError", RECURSION),
    ),
    (
        "json_loads_of_deep_nesting",
        "import json\nprint(json.loads('[' * 10**5))",
        ("error", "RecursionError", RECURSION),
    ),
    (
        "repr_of_deep_nesting",
        "x = []\nfor i in range(10**5):\n    x = [x]\nprint(repr(x))",
        ("error", "RecursionError", RECURSION),
    ),
    (
        "deep_nesting_in_an_sdk_argument",
        "x = []\nfor i in range(10**5):\n    x = [x]\nklaviyo.profiles.get_profiles(filter=x)",
        ("error", "ValidationError", "nested too deeply"),
    ),
    (
        "product_materialised",
        "import itertools\nx = list(itertools.product(range(10), repeat=12))",
        ("limit", MEMORY, CPU, WALL),
    ),
]


@pytest.mark.parametrize(("name", "code", "expected"), LAYER1, ids=[a[0] for a in LAYER1])
async def test_outsider_attack_has_its_exact_outcome(
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
