"""Semantics beyond shape: jobs on a deterministic clock, reports from stored events, referential
integrity, merges and deletions, write counters, faults, persistence and deterministic seeding."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from codemode.simulator import FaultConfig, SimConfig, create_app
from codemode.simulator.seed_data import INJECTIONS
from tests.simulator.conftest import NOW, make_client


def _data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text[:500]
    return response.json()["data"] if response.content else None


def _account(app: Starlette) -> Any:
    return app.state.sim.account(app.state.sim.default_account)


def _placed_order(app: Starlette) -> tuple[Any, Any]:
    """The default account and its Placed Order metric (the conversion reports count)."""
    account = _account(app)
    placed = next(m for m in account.records("metric") if m.attributes["name"] == "Placed Order")
    return account, placed


def test_bulk_catalog_job_goes_queued_processing_complete_and_reports_item_errors(
    client: httpx.Client, app: Starlette
) -> None:
    existing = next(iter(_account(app).records("catalog-item"))).attributes["external_id"]
    items = [
        {
            "type": "catalog-item",
            "attributes": {
                "external_id": sku,
                "title": sku,
                "description": "d",
                "url": f"https://x.example/{sku}",
            },
        }
        for sku in ("NEW-ONE", "NEW-TWO", existing)
    ]
    body = {
        "data": {"type": "catalog-item-bulk-create-job", "attributes": {"items": {"data": items}}}
    }
    job = _data(client.post("/api/catalog-item-bulk-create-jobs", json=body), 202)
    assert job["attributes"]["status"] == "queued"
    assert client.get("/api/catalog-items/$custom:::$default:::NEW-ONE").status_code == 404
    path = f"/api/catalog-item-bulk-create-jobs/{job['id']}"
    assert _data(client.get(path))["attributes"]["status"] == "processing"
    done = client.get(path, params={"include": "items"}).json()
    attrs = done["data"]["attributes"]
    assert (
        attrs["status"],
        attrs["completed_count"],
        attrs["failed_count"],
        attrs["total_count"],
    ) == ("complete", 2, 1, 3)
    assert "already exists" in attrs["errors"][0]["detail"]
    assert {i["id"] for i in done["included"]} == {
        "$custom:::$default:::NEW-ONE",
        "$custom:::$default:::NEW-TWO",
    }
    assert client.get("/api/catalog-items/$custom:::$default:::NEW-ONE").status_code == 200


def test_profile_import_job_adds_profiles_to_lists_on_completion(
    client: httpx.Client, app: Starlette
) -> None:
    target = next(
        x for x in _account(app).records("list") if x.attributes["name"] == "Trail Running Club"
    )
    profiles = [
        {"type": "profile", "attributes": {"email": f"import-{n}@example.org"}} for n in range(3)
    ]
    body = {
        "data": {
            "type": "profile-bulk-import-job",
            "attributes": {"profiles": {"data": profiles}},
            "relationships": {"lists": {"data": [{"type": "list", "id": target.id}]}},
        }
    }
    job = _data(client.post("/api/profile-bulk-import-jobs", json=body), 202)
    for _ in range(2):
        status = _data(client.get(f"/api/profile-bulk-import-jobs/{job['id']}"))["attributes"][
            "status"
        ]
    assert status == "complete"
    imported = _data(client.get(f"/api/profile-bulk-import-jobs/{job['id']}/profiles"))
    assert {p["attributes"]["email"] for p in imported} == {
        f"import-{n}@example.org" for n in range(3)
    }
    member_ids = {p["id"] for p in imported}
    members = client.get(
        f"/api/lists/{target.id}/profiles",
        params={"page[size]": 100, "filter": 'equals(email,"import-0@example.org")'},
    ).json()["data"]
    assert [m["id"] for m in members] == [
        p["id"] for p in imported if p["attributes"]["email"] == "import-0@example.org"
    ]
    assert member_ids <= set(target.many("profiles"))


def test_campaign_values_report_matches_the_stored_events(
    client: httpx.Client, app: Starlette
) -> None:
    account, placed = _placed_order(app)
    body = {
        "data": {
            "type": "campaign-values-report",
            "attributes": {
                "statistics": [
                    "recipients",
                    "opens_unique",
                    "open_rate",
                    "clicks_unique",
                    "conversion_value",
                ],
                "timeframe": {"key": "last_90_days"},
                "conversion_metric_id": placed.id,
            },
        }
    }
    results = _data(client.post("/api/campaign-values-reports", json=body))["attributes"]["results"]
    assert results
    metrics = {m.id: m.attributes["name"] for m in account.records("metric")}
    first = results[0]
    message_id = first["groupings"]["campaign_message_id"]
    events = [
        e
        for e in account.records("event")
        if (e.attributes["event_properties"] or {}).get("$message") == message_id
    ]
    received = [e for e in events if metrics[e.rels["metric"]].startswith("Received")]
    opened = {e.rels["profile"] for e in events if metrics[e.rels["metric"]] == "Opened Email"}
    stats = first["statistics"]
    assert stats["recipients"] == len(received) > 0
    assert stats["opens_unique"] == len(opened)
    assert stats["open_rate"] == round(len(opened) / len(received), 4)
    assert 0 < stats["open_rate"] < 1
    revenue = sum(r["statistics"]["conversion_value"] for r in results)
    assert revenue > 0


def test_metric_aggregates_count_events_per_day(client: httpx.Client, app: Starlette) -> None:
    account, placed = _placed_order(app)
    body = {
        "data": {
            "type": "metric-aggregate",
            "attributes": {
                "metric_id": placed.id,
                "measurements": ["count", "sum_value"],
                "interval": "day",
                "filter": [
                    "greater-or-equal(datetime,2026-06-01T00:00:00)",
                    "less-than(datetime,2026-07-01T00:00:00)",
                ],
            },
        }
    }
    attrs = _data(client.post("/api/metric-aggregates", json=body))["attributes"]
    assert len(attrs["dates"]) == 30
    expected = sum(
        1
        for e in account.records("event")
        if e.rels["metric"] == placed.id and "2026-06" in e.attributes["datetime"][:7]
    )
    assert sum(attrs["data"][0]["measurements"]["count"]) == expected > 0


def test_deleting_a_list_removes_its_memberships_and_tags(
    client: httpx.Client, app: Starlette
) -> None:
    account = _account(app)
    waitlist = next(
        x for x in account.records("list") if x.attributes["name"] == "Back in Stock Waitlist"
    )
    member = waitlist.many("profiles")[0]
    tag = _data(
        client.post("/api/tags", json={"data": {"type": "tag", "attributes": {"name": "Temp"}}}),
        201,
    )
    assert (
        client.post(
            f"/api/tags/{tag['id']}/relationships/lists",
            json={"data": [{"type": "list", "id": waitlist.id}]},
        ).status_code
        == 204
    )
    assert [x["id"] for x in _data(client.get(f"/api/tags/{tag['id']}/relationships/lists"))] == [
        waitlist.id
    ]
    assert client.delete(f"/api/lists/{waitlist.id}").status_code == 204
    assert waitlist.id not in {x["id"] for x in _data(client.get(f"/api/profiles/{member}/lists"))}
    assert _data(client.get(f"/api/tags/{tag['id']}/relationships/lists")) == []
    assert client.get(f"/api/lists/{waitlist.id}").status_code == 404


def test_add_and_remove_profiles_from_a_list(client: httpx.Client, app: Starlette) -> None:
    account = _account(app)
    club = next(x for x in account.records("list") if x.attributes["name"] == "Trail Running Club")
    outsider = next(p for p in account.records("profile") if p.id not in club.many("profiles"))
    ref = {"data": [{"type": "profile", "id": outsider.id}]}
    assert client.post(f"/api/lists/{club.id}/relationships/profiles", json=ref).status_code == 204
    assert club.id in {x["id"] for x in _data(client.get(f"/api/profiles/{outsider.id}/lists"))}
    assert (
        client.request(
            "DELETE", f"/api/lists/{club.id}/relationships/profiles", json=ref
        ).status_code
        == 204
    )
    assert club.id not in {x["id"] for x in _data(client.get(f"/api/profiles/{outsider.id}/lists"))}
    missing = client.post(
        f"/api/lists/{club.id}/relationships/profiles",
        json={"data": [{"type": "profile", "id": "nope"}]},
    )
    assert missing.status_code == 404


def test_merge_moves_events_and_deletes_the_source(client: httpx.Client, app: Starlette) -> None:
    people = list(_account(app).records("profile"))
    target, source = people[10], people[11]
    moved = sum(1 for e in _account(app).records("event") if e.rels["profile"] == source.id)
    before = sum(1 for e in _account(app).records("event") if e.rels["profile"] == target.id)
    body = {
        "data": {
            "type": "profile-merge",
            "id": target.id,
            "relationships": {"profiles": {"data": [{"type": "profile", "id": source.id}]}},
        }
    }
    assert _data(client.post("/api/profile-merge", json=body), 201)["id"] == target.id
    assert client.get(f"/api/profiles/{source.id}").status_code == 404
    events = client.get(
        "/api/events", params={"filter": f'equals(profile_id,"{target.id}")', "page[size]": 1000}
    ).json()["data"]
    assert len(events) == before + moved


def test_deletion_request_removes_the_profile_and_its_events(
    client: httpx.Client, app: Starlette
) -> None:
    victim = list(_account(app).records("profile"))[20]
    body = {
        "data": {
            "type": "data-privacy-deletion-job",
            "attributes": {
                "profile": {
                    "data": {"type": "profile", "attributes": {"email": victim.attributes["email"]}}
                }
            },
        }
    }
    assert client.post("/api/data-privacy-deletion-jobs", json=body).status_code == 202
    assert client.get(f"/api/profiles/{victim.id}").status_code == 404
    assert (
        client.get("/api/events", params={"filter": f'equals(profile_id,"{victim.id}")'}).json()[
            "data"
        ]
        == []
    )


def test_sending_a_campaign_marks_it_sent_and_records_recipients(
    client: httpx.Client, app: Starlette
) -> None:
    draft = next(c for c in _account(app).records("campaign") if c.attributes["status"] == "Draft")
    estimate = _data(client.get(f"/api/campaign-recipient-estimations/{draft.id}"))["attributes"][
        "estimated_recipient_count"
    ]
    job = _data(
        client.post(
            "/api/campaign-send-jobs", json={"data": {"type": "campaign-send-job", "id": draft.id}}
        ),
        202,
    )
    assert job["id"] == draft.id
    for _ in range(2):
        status = _data(client.get(f"/api/campaign-send-jobs/{draft.id}"))["attributes"]["status"]
    assert status == "complete"
    assert _data(client.get(f"/api/campaigns/{draft.id}"))["attributes"]["status"] == "Sent"
    received = [
        e
        for e in _account(app).records("event")
        if (e.attributes["event_properties"] or {}).get("Campaign Name") == draft.attributes["name"]
    ]
    assert len(received) == estimate > 0
    again = client.post(
        "/api/campaign-send-jobs", json={"data": {"type": "campaign-send-job", "id": draft.id}}
    )
    assert again.status_code == 409
    placed = next(
        m for m in _account(app).records("metric") if m.attributes["name"] == "Placed Order"
    )
    report = {
        "data": {
            "type": "campaign-values-report",
            "attributes": {
                "statistics": ["recipients"],
                "timeframe": {"key": "last_7_days"},
                "conversion_metric_id": placed.id,
                "filter": f'equals(campaign_id,"{draft.id}")',
            },
        }
    }
    results = _data(client.post("/api/campaign-values-reports", json=report))["attributes"][
        "results"
    ]
    assert [r["statistics"]["recipients"] for r in results] == [estimate]


def test_stats_count_each_accepted_write_once(app: Starlette, client: httpx.Client) -> None:
    stats = app.state.sim.stats
    stats.reset()
    client.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Once"}}})
    client.post("/api/lists", json={"data": {"type": "list", "attributes": {}}})
    client.get("/api/lists")
    assert stats.attempts == {"create_list": 2}
    assert stats.writes == {"create_list": 1}
    assert stats.write_log == [("create_list", "POST", "/api/lists")]
    assert stats.requests == 3


def test_faults_are_seeded_and_deterministic() -> None:
    def run() -> list[int | str]:
        app = create_app(
            SimConfig(
                now=NOW,
                profiles=20,
                events=100,
                faults=FaultConfig(
                    error_rate=0.2, drop_rate=0.1, burst_429_every=7, burst_429_length=2, seed=3
                ),
            )
        )
        out: list[int | str] = []
        with make_client(app) as c:
            for _ in range(30):
                try:
                    out.append(c.get("/api/lists").status_code)
                except httpx.RemoteProtocolError:
                    out.append("dropped")
        return out

    first = run()
    assert first == run()
    assert {503, 429, "dropped", 200} <= set(first)


def test_latency_fault_goes_through_the_injected_sleep() -> None:
    slept: list[float] = []
    app = create_app(
        SimConfig(
            now=NOW, profiles=20, events=100, faults=FaultConfig(latency_ms=250), sleep=slept.append
        )
    )
    with make_client(app) as c:
        assert c.get("/api/lists").status_code == 200
    assert slept == [0.25]


def test_db_file_keeps_writes_across_restarts(tmp_path: Path) -> None:
    db = tmp_path / "sim.sqlite"
    config = SimConfig(now=NOW, profiles=30, events=200, db_path=db)
    first = create_app(config)
    with make_client(first) as c:
        created = _data(
            c.post("/api/lists", json={"data": {"type": "list", "attributes": {"name": "Kept"}}}),
            201,
        )
        people = list(_account(first).records("profile"))
        event = {
            "data": {
                "type": "event",
                "attributes": {
                    "properties": {"n": 1},
                    "metric": {
                        "data": {"type": "metric", "attributes": {"name": "Viewed Product"}}
                    },
                    "profile": {
                        "data": {
                            "type": "profile",
                            "attributes": {"email": people[0].attributes["email"]},
                        }
                    },
                },
            }
        }
        assert c.post("/api/events", json=event).status_code == 202
        merge = {
            "data": {
                "type": "profile-merge",
                "id": people[1].id,
                "relationships": {"profiles": {"data": [{"type": "profile", "id": people[2].id}]}},
            }
        }
        assert c.post("/api/profile-merge", json=merge).status_code == 201
        ref = {"data": [{"type": "profile", "id": people[3].id}]}
        assert (
            c.post(f"/api/lists/{created['id']}/relationships/profiles", json=ref).status_code
            == 204
        )
    second = create_app(config)
    with make_client(second) as c:
        assert _data(c.get(f"/api/lists/{created['id']}"))["attributes"]["name"] == "Kept"
        members = _data(c.get(f"/api/lists/{created['id']}/profiles"))
        assert [m["id"] for m in members] == [people[3].id]
    before, after = _account(first), _account(second)
    assert before.tables.keys() == after.tables.keys()
    for kind, table in before.tables.items():
        restored = after.tables[kind]
        assert list(table) == list(restored), kind
        assert all(
            table[i].attributes == restored[i].attributes and table[i].rels == restored[i].rels
            for i in table
        ), kind


def test_the_same_seed_gives_the_same_account_and_a_new_seed_a_different_one() -> None:
    def ids(seed: int) -> list[str]:
        account = _account(create_app(SimConfig(seed=seed, now=NOW, profiles=50, events=300)))
        return [r.id for kind in ("profile", "list", "event") for r in account.records(kind)]

    assert ids(1) == ids(1)
    assert ids(1) != ids(2)


def test_default_account_has_the_documented_size_and_builds_quickly() -> None:
    started = time.process_time()
    app = create_app(SimConfig(now=NOW))
    spent = time.process_time() - started
    account = _account(app)
    assert len(account.table("profile")) >= 1000 and len(account.table("event")) >= 20000
    names = {m.attributes["name"] for m in account.records("metric")}
    assert {
        "Placed Order",
        "Opened Email",
        "Clicked Email",
        "Received Email",
        "Viewed Product",
    } <= names
    assert {"Newsletter"} <= {x.attributes["name"] for x in account.records("list")}
    assert spent < 3.0, f"seeding took {spent:.2f}s of CPU"
    days = {e.attributes["datetime"][:10] for e in account.records("event")}
    assert min(days) >= "2026-04-02" and max(days) < "2026-07-01"


def test_documented_injection_records_are_seeded(client: httpx.Client, app: Starlette) -> None:
    account = _account(app)
    notes = [p.attributes["properties"].get("notes") for p in account.records("profile")]
    assert INJECTIONS["profile_note"] in notes
    jacket = _data(client.get("/api/catalog-items/$custom:::$default:::RDG-DOWN-JKT"))
    assert jacket["attributes"]["description"] == INJECTIONS["product_description"]
    assert (
        _data(client.get("/api/coupons/TRAILFRIEND"))["attributes"]["description"]
        == INJECTIONS["coupon_description"]
    )
    assert any(
        INJECTIONS["template_comment"] in t.attributes["html"] for t in account.records("template")
    )


@pytest.mark.parametrize("revision", ["2023-02-22", "2026-10-15", "2026-07-15.pre"])
def test_any_well_formed_revision_is_accepted_and_echoed(
    client: httpx.Client, revision: str
) -> None:
    response = client.get("/api/lists", headers={"revision": revision})
    assert response.status_code == 200 and response.headers["revision"] == revision


def test_profile_update_merges_properties_and_applies_patch_properties(
    client: httpx.Client, app: Starlette
) -> None:
    profile = list(_account(app).records("profile"))[30]
    before = dict(profile.attributes["properties"])
    body = {
        "data": {
            "type": "profile",
            "id": profile.id,
            "attributes": {"properties": {"tent_size": "2P"}},
            "meta": {"patch_properties": {"append": {"trips": "Zion"}, "unset": "source"}},
        }
    }
    attrs = _data(client.patch(f"/api/profiles/{profile.id}", json=body))["attributes"]
    assert attrs["properties"]["tent_size"] == "2P" and attrs["properties"]["trips"] == ["Zion"]
    assert "source" not in attrs["properties"]
    assert attrs["properties"]["favorite_activity"] == before["favorite_activity"]
    other = list(_account(app).records("profile"))[31]
    clash = {
        "data": {
            "type": "profile",
            "id": profile.id,
            "attributes": {"email": other.attributes["email"]},
        }
    }
    conflict = client.patch(f"/api/profiles/{profile.id}", json=clash)
    assert conflict.status_code == 409 and conflict.json()["errors"][0]["meta"] == {
        "duplicate_profile_id": other.id
    }


def test_flow_values_group_by_needs_the_ids_and_names_the_flow_and_the_message(
    client: httpx.Client, app: Starlette
) -> None:
    account, placed = _placed_order(app)

    def report(group_by: list[str]) -> httpx.Response:
        attributes = {
            "statistics": ["conversions"],
            "timeframe": {"key": "last_365_days"},
            "conversion_metric_id": placed.id,
            "group_by": group_by,
        }
        body = {"data": {"type": "flow-values-report", "attributes": attributes}}
        return client.post("/api/flow-values-reports", json=body)

    # Klaviyo: "The following group by attributes are required: flow_message_id, flow_id."
    refused = report(["flow_id", "flow_name"])
    assert refused.status_code == 400
    assert "must include flow_id and flow_message_id" in refused.text
    rows = _data(report(["flow_id", "flow_message_id", "flow_name", "flow_message_name"]))
    flows = {f.id: f.attributes["name"] for f in account.records("flow")}
    messages = {m.id: m.attributes["name"] for m in account.records("flow-message")}
    results = rows["attributes"]["results"]
    assert results
    for row in results:
        g = row["groupings"]
        assert g["flow_name"] == flows[g["flow_id"]]
        assert g["flow_message_name"] == messages[g["flow_message_id"]]


def test_form_reports_give_rates_as_fractions_of_a_coherent_funnel(client: httpx.Client) -> None:
    names = ["viewed_form", "viewed_form_uniques", "qualified_form", "submits", "submit_rate"]
    attributes: dict[str, Any] = {"statistics": names, "timeframe": {"key": "last_30_days"}}
    body = {"data": {"type": "form-values-report", "attributes": attributes}}
    results = _data(client.post("/api/form-values-reports", json=body))["attributes"]["results"]
    assert results
    for row in results:
        s = row["statistics"]
        assert s["viewed_form"] >= s["qualified_form"] >= s["submits"]
        assert s["viewed_form"] >= s["viewed_form_uniques"]
        assert 0.0 <= s["submit_rate"] <= 1.0
        assert s["submit_rate"] == pytest.approx(s["submits"] / s["viewed_form"], abs=1e-4)
    attributes["interval"] = "weekly"
    body = {"data": {"type": "form-series-report", "attributes": attributes}}
    series = _data(client.post("/api/form-series-reports", json=body))["attributes"]
    stamps = series["date_times"]
    assert len(stamps) == len(set(stamps)) >= 4 and stamps == sorted(stamps)
    first = series["results"][0]["statistics"]
    assert len(first["viewed_form"]) == len(stamps)
    assert all(0.0 <= rate <= 1.0 for rate in first["submit_rate"])


def test_seeded_flow_actions_carry_the_documented_definition(client: httpx.Client) -> None:
    flow = _data(client.get("/api/flows", params={"filter": 'equals(name,"Welcome Series")'}))[0]
    actions = _data(client.get(f"/api/flows/{flow['id']}/flow-actions"))
    definitions = [a["attributes"]["definition"] for a in actions]
    sends = [d for d in definitions if d["type"] == "send-email"]
    assert sends and all(d["data"]["status"] == "live" for d in sends)
    assert all(
        d["data"]["message"]["subject_line"] and d["data"]["message"]["template_id"] for d in sends
    )
    assert all(d["data"]["unit"] for d in definitions if d["type"] == "time-delay")
    # Each step links to the next; the last ends the flow.
    assert [d["links"]["next"] for d in definitions] == [d["id"] for d in definitions[1:]] + [None]
    messages = _data(client.get(f"/api/flow-actions/{sends[0]['id']}/flow-messages"))
    email = messages[0]["attributes"]["definition"]
    assert email == sends[0]["data"]["message"]


def test_metric_aggregates_step_by_calendar_month_and_derive_the_attributed_flow(
    client: httpx.Client, app: Starlette
) -> None:
    account, placed = _placed_order(app)
    attributes = {
        "metric_id": placed.id,
        "measurements": ["count"],
        "interval": "month",
        "by": ["$attributed_flow"],
        "filter": [
            "greater-or-equal(datetime,2026-03-01T00:00:00+00:00)",
            "less-than(datetime,2026-06-01T00:00:00+00:00)",
        ],
    }
    body = {"data": {"type": "metric-aggregate", "attributes": attributes}}
    result = _data(client.post("/api/metric-aggregates", json=body))["attributes"]
    # Three calendar months, not four 30-day steps.
    assert result["dates"] == [
        "2026-03-01T00:00:00+00:00",
        "2026-04-01T00:00:00+00:00",
        "2026-05-01T00:00:00+00:00",
    ]
    flows = {f.id for f in account.records("flow")}
    attributed = [row["dimensions"][0] for row in result["data"] if row["dimensions"][0]]
    assert attributed and set(attributed) <= flows


def test_seeded_segments_carry_definitions_a_segment_write_accepts(client: httpx.Client) -> None:
    from codemode.simulator.operations import load_operations
    from codemode.simulator.validate import first_error

    schema = load_operations()["create_segment"].body.schema  # type: ignore[union-attr]
    defined = 0
    for segment in _data(client.get("/api/segments")):
        definition = segment["attributes"]["definition"]
        if not definition["condition_groups"]:
            continue
        defined += 1
        attributes = {"name": segment["attributes"]["name"], "definition": definition}
        body = {"data": {"type": "segment", "attributes": attributes}}
        assert first_error(schema, body) is None, segment["attributes"]["name"]
    assert defined >= 3
