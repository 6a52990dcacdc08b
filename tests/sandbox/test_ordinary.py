"""Ordinary scripts work: the sandbox refuses escapes, not everyday Python."""

from __future__ import annotations

import anyio
import pytest

from codemode.sandbox import Sandbox

from .conftest import FakeBridge, execute

pytestmark = pytest.mark.asyncio(loop_scope="module")

EVERYDAY = """
import json, math, statistics, re, string, textwrap
from collections import Counter, defaultdict, namedtuple, OrderedDict, deque
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, localcontext, ROUND_HALF_UP
from functools import reduce, partial, lru_cache
from itertools import islice, groupby, chain

class Account:
    def __init__(self, name, balance):
        self.name = name
        self.balance = balance

    def __repr__(self):
        return f"Account({self.name!r}, {self.balance})"

    def __lt__(self, other):
        return self.balance < other.balance

def total(items):
    return sum(a.balance for a in items)

accounts = [Account("b", 3), Account("a", 7), Account("c", 1)]
accounts.sort()
print([a.name for a in accounts], total(accounts), max(accounts))
squares = {n: n * n for n in range(5) if n % 2 == 0}
print(squares, [x for pair in [(1, 2), (3, 4)] for x in pair])
a, (b, c) = 1, (2, 3)
first, *rest = [1, 2, 3]
print(a + b + c, first, rest)
counter = Counter("mississippi")
print(counter.most_common(2))
groups = defaultdict(list)
for word in ["apple", "avocado", "banana"]:
    groups[word[0]].append(word)
print(dict(groups))
Point = namedtuple("Point", "x y")
print(Point(1, 2).x, OrderedDict(a=1), deque([1, 2], maxlen=2))
start = datetime(2024, 1, 31, tzinfo=timezone.utc)
print((start + timedelta(days=1)).date().isoformat(), date(2024, 3, 1) - date(2024, 2, 1))
print(datetime.strptime("2024-05-06", "%Y-%m-%d").weekday())
with localcontext(prec=6):
    print(Decimal("10") / Decimal("3"))
print(Decimal("2.675").quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
print(reduce(lambda x, y: x * y, [1, 2, 3, 4]), partial(pow, 2)(10))

@lru_cache(maxsize=None)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

print(fib(60), math.sqrt(16), statistics.median([3, 1, 2]))
print(re.findall(r"\\d+", "a1b22c333"), string.ascii_lowercase[:3], textwrap.shorten("hello big world", 12))
print(json.dumps({"b": 1, "a": [True, None]}, sort_keys=True), json.loads('{"x": 1}')["x"])
print(list(islice(chain([1], [2, 3]), 2)), [(k, len(list(g))) for k, g in groupby("aabbb")])
x = 5
x += 2
x *= 3
tally = {"a": 1}
tally["a"] += 1
accounts[0].balance += 10
print("aug", tally["a"], accounts[0].balance)
print(f"{x:>5}|{3.14159:.2f}|{'s'!r}")
try:
    {}["missing"]
except KeyError as exc:
    print("caught", repr(exc))
finally:
    print("finally")
def gen():
    yield from range(3)
print(list(gen()), sorted({3, 1, 2}, reverse=True), list(zip("ab", [1, 2])), tuple(reversed([1, 2])))
print(isinstance(accounts[0], Account), hasattr(accounts[0], "name"), getattr(accounts[0], "nope", "dflt"))
setattr(accounts[0], "name", "z")
print(accounts[0].name)
"""


async def test_everyday_python_runs(sandbox: Sandbox) -> None:
    result = await execute(sandbox, EVERYDAY)
    assert result.error is None, result.error
    out = result.output
    for expected in (
        "['c', 'b', 'a'] 11 Account('a', 7)",
        "{0: 0, 2: 4, 4: 16} [1, 2, 3, 4]",
        "6 1 [2, 3]",
        "[('i', 4), ('s', 4)]",
        "{'a': ['apple', 'avocado'], 'b': ['banana']}",
        "2024-02-01 29 days, 0:00:00",
        "3.33333",
        "2.68",
        "24 1024",
        "1548008755920 4.0 2",
        "['1', '22', '333'] abc hello [...]",
        '{"a": [true, null], "b": 1} 1',
        "[1, 2] [('a', 2), ('b', 3)]",
        "   21|3.14|'s'",
        "caught KeyError('missing')",
        "finally",
        "[0, 1, 2] [3, 2, 1] [('a', 1), ('b', 2)] (2, 1)",
        "True True dflt",
        "z",
        "aug 2 11",
    ):
        assert expected in out, f"{expected!r} missing from:\n{out}"


async def test_sdk_results_page_through_the_host(sandbox: Sandbox) -> None:
    bridge = FakeBridge()
    code = (
        "r = klaviyo.profiles.get_profiles(page_size=2)\n"
        "print(len(r), r.next_cursor, [p['email'] for p in r.records])\n"
        "print([p['id'] for p in r.all(max_items=10)])\n"
        "print(klaviyo.call('get_profiles').data[0]['first_name'])\n"
    )
    result = await execute(sandbox, code, bridge=bridge)
    assert result.error is None, result.error
    assert "2 c2 ['ada@example.com', 'bob@example.com']" in result.output
    assert "['P1', 'P2', 'P3']" in result.output
    assert "Ada" in result.output
    assert [c[0] for c in bridge.calls] == ["get_profiles"] * 3
    assert bridge.calls[1][2] == {"page_size": 2, "page_cursor": "c2"}
    assert [c.to_dict()["status"] for c in result.calls] == [200] * 3


async def test_sdk_errors_are_typed_and_catchable(sandbox: Sandbox) -> None:
    code = (
        "try:\n    klaviyo.profiles.get_profile('nope')\n"
        "except klaviyo.errors.NotFoundError as e:\n    print('404 ok', e.status)\n"
        "try:\n    klaviyo.profiles.get_profile(id='nope')\n"
        "except KlaviyoError as e:\n    print('base ok', e.detail)\n"
        "klaviyo.profiles.get_profile(id='nope')\n"
    )
    result = await execute(sandbox, code)
    assert "404 ok 404" in result.output and "base ok not found" in result.output
    assert result.error is not None
    assert result.error.type == "NotFoundError" and result.error.line == 9
    assert "404" in result.error.message
    assert result.calls[0].error == "NotFoundError"


async def test_unknown_groups_and_actions_suggest_names(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "klaviyo.profiles.get_profils()")
    assert result.error is not None and "did you mean get_profiles" in result.error.message
    result = await execute(sandbox, "klaviyo.profile.get_profiles()")
    assert result.error is not None and "did you mean profiles" in result.error.message
    result = await execute(sandbox, "klaviyo.errors.Nope")
    assert result.error is not None and "NotFoundError" in result.error.message


async def test_non_json_parameters_are_refused_with_the_parameter_name(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "klaviyo.profiles.get_profiles(filter={1, 2})")
    assert result.error is not None and result.error.type == "ValidationError"
    assert "'filter'" in result.error.message
    result = await execute(
        sandbox, "import datetime\nklaviyo.profiles.get_profiles(datetime.date(2024, 1, 2))"
    )
    assert result.error is None


async def test_store_persists_between_executions(sandbox: Sandbox) -> None:
    first = await execute(
        sandbox, "store['n'] = store.get('n', 0) + 1\nstore['seen'] = ['a']", store={}
    )
    assert first.store == {"n": 1, "seen": ["a"]}
    second = await execute(sandbox, "store['n'] += 1\nprint(store)", store=first.store)
    assert second.store["n"] == 2 and "'seen': ['a']" in second.output


async def test_store_refuses_non_json_values_and_keeps_the_old_store(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "store['s'] = {1, 2}", store={"keep": 1})
    assert result.error is not None and result.error.type == "StoreError"
    assert "store['s']" in result.error.message and "JSON" in result.error.message
    assert result.store == {"keep": 1}


async def test_store_over_its_cap_is_refused(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "store['big'] = 'x' * 300000")
    assert result.error is not None and "limit is 262144 bytes" in result.error.message


async def test_store_must_stay_a_dict(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "store = [1]")
    assert result.error is not None and "store must stay a dict" in result.error.message


async def test_store_is_kept_when_the_script_fails_after_updating_it(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "store['step'] = 1\n1 / 0")
    assert result.error is not None and result.error.type == "ZeroDivisionError"
    assert result.store == {"step": 1}


async def test_dry_run_records_planned_writes(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "print('hi')", bridge=FakeBridge(dry_run=True))
    assert result.to_dict()["planned_writes"] == [] and result.dry_run


async def test_progress_is_reported_per_call(sandbox: Sandbox) -> None:
    seen: list[tuple[int, str]] = []

    async def progress(done: int, message: str) -> None:
        seen.append((done, message))

    await execute(
        sandbox,
        "klaviyo.profiles.get_profiles()\nklaviyo.profiles.get_profiles()",
        on_progress=progress,
    )
    assert seen == [(1, "get_profiles -> 200"), (2, "get_profiles -> 200")]


async def test_isolation_report_is_exposed(sandbox: Sandbox) -> None:
    result = await execute(sandbox, "pass")
    iso = result.isolation
    assert iso["rlimits"] is True and iso["sdk_client_loaded"] is False
    assert set(iso) >= {"uid", "network_namespace", "landlock_abi", "seccomp", "notes"}
    assert result.wall_ms > 0 and result.to_dict()["output_scan"] == "unscanned"


async def test_concurrent_executions_do_not_mix(sandbox: Sandbox) -> None:
    results: dict[int, str] = {}

    async def one(n: int) -> None:
        result = await execute(sandbox, f"store['n'] = {n}\nprint({n} * 2)", store={"mine": n})
        assert result.store == {"mine": n, "n": n}
        results[n] = result.output

    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(one, n)
    assert results == {n: f"{n * 2}\n" for n in range(8)}
