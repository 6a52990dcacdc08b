"""Layer-1 attacks written from outside: every route to attribute traversal an attacker would try.

Each attack states its exact outcome: refused (error type and the phrase that says why) or
contained (the exact output: a harmless value, never an internal object). Every run goes through
``conftest.execute``: the canary key never appears, no host path or traceback is shown, and the
worker is gone afterwards.
"""

from __future__ import annotations

import pytest

from codemode.sandbox import Sandbox
from tests.sandbox._outcomes import assert_outcome

from .conftest import execute

pytestmark = pytest.mark.asyncio(loop_scope="module")

CLOSED_DUNDER = "is closed in the sandbox: names starting with _"
COMPILE_DUNDER = "starts with"

# (id, script, expected): expected is ("error", type, fragment) or ("output", exact output).
ATTACKS: list[tuple[str, str, tuple[str, ...]]] = [
    # --- str.format and friends, every spelling -------------------------------------------
    (
        "super_format_on_str_subclass",
        "class S(str):\n    def go(self, x):\n        return super().format(x)\n"
        "print(S('{0.__class__}').go(1))",
        ("error", "ForbiddenError", "'__class__' " + CLOSED_DUNDER),
    ),
    (
        "super_two_arg_format",
        "class S(str):\n    pass\ns = S('{0.__globals__}')\nprint(super(S, s).format(len))",
        ("error", "ForbiddenError", "'__globals__' " + CLOSED_DUNDER),
    ),
    (
        "super_format_map",
        "class S(str):\n    def go(self, m):\n        return super().format_map(m)\n"
        "print(S('{x.__class__.__base__}').go({'x': 1}))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "super_format_reaches_env_repr",
        "class S(str):\n    def go(self):\n        return super().format(print)\n"
        "print(S('{0.__self__.__init__.__globals__[os].environ}').go())",
        ("error", "ForbiddenError", "'__self__' " + CLOSED_DUNDER),
    ),
    (
        "unbound_str_format",
        "print(str.format('{0.__class__.__mro__}', 1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "unbound_format_map",
        "print(str.format_map('{a.__class__}', {'a': 1}))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "subclass_unbound_format",
        "class S(str):\n    pass\nprint(S.format('{0.__class__}', 1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "getattr_format",
        "f = getattr('{0.__class__}', 'format')\nprint(f(1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "getattr_on_super_format",
        "class S(str):\n    def go(self):\n        return getattr(super(), 'format')(1)\n"
        "print(S('{0.__class__}').go())",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "map_over_unbound_format",
        "print(list(map(str.format, ['{0.__class__}'], [1])))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "partial_of_format",
        "import functools\np = functools.partial(str.format, '{0.__class__}')\nprint(p(1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "format_in_lambda_default",
        "f = lambda t='{0.__class__}'.format: t(1)\nprint(f())",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "format_in_comprehension",
        "print(['{0.__class__}'.format(x) for x in [1]])",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "format_in_class_body",
        "class A:\n    fmt = '{0.__class__}'.format\nprint(A.fmt(1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "format_method_stored_in_dict",
        "d = {'f': '{0.__class__}'.format}\nprint(d['f'](1))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "format_via_sorted_key",
        "print(sorted(['{0.__class__}'], key=lambda t: t.format(1)))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "nested_spec_traversal",
        "print('{0:{1.__class__}}'.format(1, 2))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "index_then_attr",
        "print('{0[0].__class__}'.format([1]))",
        ("error", "ForbiddenError", "'__class__'"),
    ),
    (
        "key_named_like_a_dunder_is_just_a_key",
        "print('{0[__class__]}'.format({'__class__': 'plain value'}))",
        ("output", "plain value\n"),
    ),
    (
        "format_map_with_script_mapping",
        "class M:\n    def __getitem__(self, k):\n        return len\n"
        "print('{x.__self__}'.format_map(M()))",
        ("error", "ForbiddenError", "'__self__'"),
    ),
    (
        "format_map_with_klaviyo_attr",
        "print('{k.call}'.format_map({'k': klaviyo}))",
        (
            "output",
            "<bound method SdkProxy.call of <klaviyo SDK proxy: 2 groups; calls run on "
            "the host, which holds the key>>\n",
        ),
    ),
    (
        "format_reaches_frame_attr",
        "def g():\n    yield 1\nprint('{0.gi_frame}'.format(g()))",
        ("error", "ForbiddenError", "'gi_frame' is closed"),
    ),
    (
        "format_reaches_mro",
        "print('{0.mro}'.format(int))",
        ("error", "ForbiddenError", "'mro' is closed"),
    ),
    (
        "format_on_module_proxy_attr",
        "import json\nprint('{0.codecs}'.format(json))",
        ("error", "AttributeError", "json.codecs is not available"),
    ),
    (
        "format_conversion_r_on_script_class",
        "class A:\n    def __repr__(self):\n        return 'A!'\nprint('{0!r}|{0!s}|{0!a}'.format(A()))",
        ("output", "A!|A!|A!\n"),
    ),
    (
        "ordinary_format_still_works",
        "print('{} {:>4} {name} {0}'.format(1, 2, name='n'))",
        ("error", "ValueError", "cannot switch from manual field specification"),
    ),
    (
        "ordinary_format_fields",
        "print('{0} {1:>4} {name} {2[k]} {3.real}'.format(1, 2, {'k': 3}, 4, name='n'))",
        ("output", "1    2 n 3 4\n"),
    ),
    (
        "format_template_not_a_str",
        "print(str.format(5, 1))",
        ("error", "TypeError", "needs a str template"),
    ),
    (
        "string_formatter_missing",
        "import string\nprint(string.Formatter)",
        ("error", "AttributeError", "string.Formatter is not available"),
    ),
    (
        "string_template_missing",
        "from string import Template",
        ("error", "AttributeError", "string.Template is not available"),
    ),
    # --- f-strings, format(), __format__ ---------------------------------------------------
    (
        "fstring_dunder",
        "x = 1\nprint(f'{x.__class__}')",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "fstring_nested_spec_dunder",
        "x = 1\nprint(f'{x:{x.__class__}}')",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "fstring_conversions_contained",
        "class A:\n    def __repr__(self):\n        return 'r'\n    def __str__(self):\n"
        "        return 's'\na = A()\nprint(f'{a!r}{a!s}{a!a}{a}')",
        ("output", "rsrs\n"),
    ),
    (
        "user_dunder_format_refused",
        "class A:\n    def __format__(self, spec):\n        return spec\nprint(f'{A():x}')",
        ("error", "ForbiddenSyntax", "__format__"),
    ),
    (
        "format_builtin_spec_object",
        "print(format(1, ['x']))",
        ("error", "TypeError", "spec must be a str"),
    ),
    (
        "format_builtin_date_spec",
        "import datetime\nprint(format(datetime.date(2024, 5, 6), '%d/%m/%Y'))",
        ("output", "06/05/2024\n"),
    ),
    (
        "strftime_directive_soup",
        "import datetime\nprint(datetime.datetime(2024, 1, 2, 3, 4, 5).strftime('%Y|%j|%A|%%|%Z|%z'))",
        ("output", "2024|002|Tuesday|%||\n"),
    ),
    # --- type(), __name__ and the class hierarchy --------------------------------------------
    (
        "type_of_class_is_refused",
        "print(type(int))",
        ("error", "ForbiddenError", "type() of a class"),
    ),
    (
        "type_of_script_class_is_refused",
        "class A:\n    pass\nprint(type(A))",
        ("error", "ForbiddenError", "type() of a class"),
    ),
    (
        "type_three_args",
        "X = type('X', (object,), {'__format__': lambda s, f: 'pwn'})",
        ("error", "ForbiddenError", "three arguments"),
    ),
    ("type_no_args", "type()", ("error", "ForbiddenError", "three arguments")),
    (
        "type_of_type_of_value",
        "print(type(type(1)))",
        ("error", "ForbiddenError", "type() of a class"),
    ),
    (
        "type_name_ok",
        "print(type({}).__name__, type(klaviyo).__name__)",
        ("output", "dict SdkProxy\n"),
    ),
    (
        "type_base_walk",
        "print(type(1).__base__)",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "getattr_type_subclasses",
        "print(getattr(type(1), '__subclasses__'))",
        ("error", "ForbiddenError", "'__subclasses__' " + CLOSED_DUNDER),
    ),
    ("type_mro", "print(type(1).mro())", ("error", "ForbiddenError", "'mro' is closed")),
    (
        "function_type_rebuild",
        "F = type(lambda: 0)\nprint(F(None, {}))",
        ("error", "TypeError", "code"),
    ),
    (
        "name_write_refused",
        "def f():\n    pass\nf.__name__ = 'x'",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "name_augmented_write_refused",
        "def f():\n    pass\nf.__name__ += 'x'",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "name_delete_refused",
        "def f():\n    pass\ndel f.__name__",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "field_smuggled_through_a_nested_spec",
        "print('{:{}{}}'.format(1, '>', '{0.__class__}'))",
        ("error", "ValueError", "Invalid format specifier"),
    ),
    (
        "spec_recursion_bomb",
        "print('{0:{1:{2}}}'.format(1, 2, 3))",
        ("error", "ValueError", "Max string recursion exceeded"),
    ),
    (
        "setattr_name_refused",
        "def f():\n    pass\nsetattr(f, '__name__', 'x')",
        ("error", "ForbiddenError", "names starting with _ are closed"),
    ),
    (
        "name_of_module_proxy",
        "import json\nprint(json.__name__)",
        ("error", "AttributeError", "json.__name__ is not available"),
    ),
    (
        "getattr_name_default",
        "print(getattr(3, '__name__', 'none'), (lambda: 0).__name__, len.__name__)",
        ("output", "none <lambda> len\n"),
    ),
    (
        "name_of_klaviyo_operation",
        "print(klaviyo.profiles.get_profiles.__name__)",
        ("error", "AttributeError", "__name__"),
    ),
    (
        "isinstance_with_type_result",
        "print(isinstance(3, type(4)), type(3) is int, type([]) == list)",
        ("output", "True True True\n"),
    ),
    # --- exceptions as carriers ----------------------------------------------------------------
    (
        "attribute_error_obj",
        "try:\n    klaviyo.nope\nexcept AttributeError as e:\n    print(e.obj)",
        ("error", "ForbiddenError", "AttributeError.obj is closed"),
    ),
    (
        "attribute_error_obj_getattr",
        "import json\ntry:\n    json.codecs\nexcept AttributeError as e:\n    print(getattr(e, 'obj'))",
        ("error", "ForbiddenError", "AttributeError.obj is closed"),
    ),
    (
        "exception_traceback",
        "try:\n    1/0\nexcept Exception as e:\n    print(e.__traceback__)",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "exception_with_traceback_frame",
        "try:\n    1/0\nexcept Exception as e:\n    t = e.with_traceback(None)\n    print(t.args)",
        ("output", "('division by zero',)\n"),
    ),
    (
        "klaviyo_error_attrs",
        "try:\n    klaviyo.profiles.get_profile('nope')\nexcept NotFoundError as e:\n"
        "    print(e.status, type(e).__name__, e.detail)",
        ("output", "404 NotFoundError not found\n"),
    ),
    # --- allowed modules: new ones must not leak -------------------------------------------
    (
        "heapq_merge_frame",
        "import heapq\ng = heapq.merge([1], [2])\nprint(g.gi_frame)",
        ("error", "ForbiddenSyntax", "gi_frame"),
    ),
    (
        "heapq_module_itself",
        "import heapq\nprint(heapq.heapq)",
        ("error", "AttributeError", "heapq.heapq is not available"),
    ),
    (
        "heapq_frame_through_getattr",
        "import heapq\ng = heapq.merge([1], [2])\nprint(getattr(g, 'gi_' + 'frame'))",
        ("error", "ForbiddenError", "generator frame"),
    ),
    (
        "time_module_sys",
        "import time\nprint(time.sys)",
        ("error", "AttributeError", "time.sys is not available"),
    ),
    (
        "time_localtime_missing",
        "import time\nprint(time.localtime())",
        ("error", "AttributeError", "time.localtime is not available"),
    ),
    (
        "random_internal_os",
        "import random\nprint(random._os)",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "random_system_random_missing",
        "from random import SystemRandom",
        ("error", "AttributeError", "random.SystemRandom is not available"),
    ),
    (
        "hashlib_new_missing",
        "import hashlib\nprint(hashlib.new('md5'))",
        ("error", "AttributeError", "hashlib.new is not available"),
    ),
    (
        "base64_binascii",
        "import base64\nprint(base64.binascii)",
        ("error", "AttributeError", "base64.binascii is not available"),
    ),
    (
        "time_module_cannot_be_replaced",
        "import time\ntime.strftime = print",
        ("error", "ForbiddenError", "cannot change"),
    ),
    (
        "import_time_submodule",
        "import _strptime",
        ("error", "ForbiddenSyntax", COMPILE_DUNDER),
    ),
    (
        "json_dumps_cls_hook",
        "import json\nclass E:\n    def __init__(self, **kw):\n        pass\n"
        "    def encode(self, o):\n        return 'mine'\nprint(json.dumps(1, cls=E))",
        ("output", "mine\n"),
    ),
    (
        "json_dumps_default_returns_self",
        "import json\nprint(json.dumps(klaviyo, default=lambda o: o))",
        ("error", "ValueError", "Circular reference"),
    ),
    (
        "json_dumps_of_proxy_refused",
        "import json\nprint(json.dumps(klaviyo))",
        ("error", "TypeError", "SdkProxy is not JSON serializable"),
    ),
    (
        "json_dumps_result_and_dates",
        "import json, datetime, decimal\nr = klaviyo.profiles.get_profiles()\n"
        "print(json.dumps({'n': len(r), 'd': datetime.date(2024, 1, 2), 'm': decimal.Decimal('1.5'), "
        "'s': {2, 1}}, sort_keys=True))",
        ("output", '{"d": "2024-01-02", "m": "1.5", "n": 2, "s": [1, 2]}\n'),
    ),
]


@pytest.mark.parametrize(("name", "code", "expected"), ATTACKS, ids=[a[0] for a in ATTACKS])
async def test_layer1_attack_has_its_exact_outcome(
    sandbox: Sandbox, name: str, code: str, expected: tuple[str, ...]
) -> None:
    result = await execute(sandbox, code)
    assert_outcome(result, name, expected)
