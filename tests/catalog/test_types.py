"""One rule for dates: ISO 8601 ``str`` in the catalog, signatures, stubs and values (in and out)."""

from __future__ import annotations

import datetime as dt

import httpx
from tests._shared import REPO_ROOT

from codemode.catalog import load_catalog
from codemode.klaviyo import Klaviyo
from codemode.search import get_signatures
from codemode.simulator import DEMO_PRIVATE_KEY, SimConfig, create_app
from codemode.simulator.transport import SimTransport


def test_no_catalog_field_or_parameter_promises_a_datetime_object() -> None:
    for action in load_catalog().values():
        types = [*action.response.fields.values(), *(p.type for p in action.params)]
        assert not any("datetime" in t for t in types), action.id


def test_signatures_and_stubs_type_date_fields_as_str() -> None:
    catalog = load_catalog()
    (sig,), _ = get_signatures(["get_profile"], catalog)
    shape = next(x for x in sig.doc.splitlines() if x.startswith("- record shape: "))
    assert "created?: str" in shape and "datetime" not in shape
    stub = (REPO_ROOT / "sdk_stubs" / "profiles.pyi").read_text(encoding="utf-8")
    assert '"created": str | None' in stub and "datetime" not in stub


def test_outside_the_sandbox_a_date_value_is_an_iso_string_and_a_datetime_input_is_sent_as_one() -> (
    None
):
    app = create_app(SimConfig(profiles=5, events=10, rate_limits=False))
    http = httpx.Client(transport=SimTransport(app))
    k = Klaviyo(api_key=DEMO_PRIVATE_KEY, base_url="http://sim", http_client=http)
    profile = k.profiles.get_profiles(page_size=1).data[0]
    assert isinstance(profile["created"], str)
    assert dt.datetime.fromisoformat(profile["created"]).tzinfo is not None
    when = dt.datetime(2024, 8, 1, 12, tzinfo=dt.UTC)
    prepared = k.prepare(
        "create_event",
        attributes={
            "properties": {},
            "time": when,
            "metric": {"data": {"type": "metric", "attributes": {"name": "Seen"}}},
            "profile": {"data": {"type": "profile", "attributes": {"email": "a@b.co"}}},
        },
    )
    assert prepared.json["data"]["attributes"]["time"] == "2024-08-01T12:00:00+00:00"
