"""Behaviour of the operations beyond the core actions: consent, flows, reviews, custom objects,
images from files, push tokens, profile upserts; and the simulator's routing and work bounds."""

from __future__ import annotations

from typing import Any

import httpx

from codemode.simulator.filters import MAX_CONDITIONS, MAX_FILTER_CHARS, MAX_LIST_VALUES
from tests.simulator._recipes import PNG


def _data(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text[:500]
    return response.json()["data"] if response.content else None


def _email_consent(client: httpx.Client, email: str) -> dict[str, Any]:
    rows = _data(
        client.get(
            "/api/profiles",
            params={
                "filter": f'equals(email,"{email}")',
                "additional-fields[profile]": "subscriptions",
            },
        )
    )
    assert len(rows) == 1, rows
    marketing: dict[str, Any] = rows[0]["attributes"]["subscriptions"]["email"]["marketing"]
    return marketing


def _job(kind: str, emails: list[str], consent: str = "SUBSCRIBED") -> dict[str, Any]:
    profiles = [
        {
            "type": "profile",
            "attributes": {
                "email": e,
                "subscriptions": {"email": {"marketing": {"consent": consent}}},
            },
        }
        for e in emails
    ]
    return {"data": {"type": kind, "attributes": {"profiles": {"data": profiles}}}}


def test_bulk_subscribe_then_unsubscribe_changes_the_consent_a_later_read_shows(
    client: httpx.Client,
) -> None:
    email = "consent.flip@example.org"
    subscribe = _job("profile-subscription-bulk-create-job", [email])
    _data(client.post("/api/profile-subscription-bulk-create-jobs", json=subscribe), 202)
    consent = _email_consent(client, email)
    assert consent["consent"] == "SUBSCRIBED" and consent["can_receive_email_marketing"] is True

    unsubscribe = _job("profile-subscription-bulk-delete-job", [email], "UNSUBSCRIBED")
    _data(client.post("/api/profile-subscription-bulk-delete-jobs", json=unsubscribe), 202)
    consent = _email_consent(client, email)
    assert consent["consent"] == "UNSUBSCRIBED" and consent["can_receive_email_marketing"] is False


def test_suppression_blocks_email_marketing_until_it_is_removed(client: httpx.Client) -> None:
    email = "suppress.me@example.org"
    subscribe = _job("profile-subscription-bulk-create-job", [email])
    _data(client.post("/api/profile-subscription-bulk-create-jobs", json=subscribe), 202)
    body = {
        "data": {
            "type": "profile-suppression-bulk-create-job",
            "attributes": {
                "profiles": {"data": [{"type": "profile", "attributes": {"email": email}}]}
            },
        }
    }
    job = _data(client.post("/api/profile-suppression-bulk-create-jobs", json=body), 202)
    marketing = _email_consent(client, email)
    assert marketing["can_receive_email_marketing"] is False
    assert [s["reason"] for s in marketing["suppression"]] == ["USER_SUPPRESSED"]
    polled = [
        _data(client.get(f"/api/profile-suppression-bulk-create-jobs/{job['id']}"))["attributes"][
            "status"
        ]
        for _ in range(2)
    ]
    assert polled == ["processing", "complete"]

    body["data"]["type"] = "profile-suppression-bulk-delete-job"
    _data(client.post("/api/profile-suppression-bulk-delete-jobs", json=body), 202)
    marketing = _email_consent(client, email)
    assert marketing["suppression"] == [] and marketing["can_receive_email_marketing"] is True


def test_an_invalid_email_is_a_400_naming_the_field_wherever_a_profile_is_written(
    client: httpx.Client,
) -> None:
    bad = "not-an-email"
    create = {"data": {"type": "profile", "attributes": {"email": bad}}}
    response = client.post("/api/profiles", json=create)
    assert response.status_code == 400
    assert response.json()["errors"][0]["source"]["pointer"] == "/data/attributes/email"
    subscribe = _job("profile-subscription-bulk-create-job", [bad])
    response = client.post("/api/profile-subscription-bulk-create-jobs", json=subscribe)
    assert response.status_code == 400 and "email" in response.json()["errors"][0]["detail"]


def test_create_or_update_profile_creates_once_then_updates_the_same_profile(
    client: httpx.Client,
) -> None:
    body = {"data": {"type": "profile", "attributes": {"email": "upsert@example.org"}}}
    first = _data(client.post("/api/profile-import", json=body), 201)
    body["data"]["attributes"]["first_name"] = "Ada"
    again = _data(client.post("/api/profile-import", json=body), 200)
    assert again["id"] == first["id"] and again["attributes"]["first_name"] == "Ada"


def test_update_flow_sets_draft_and_refuses_an_unknown_status(client: httpx.Client) -> None:
    flow = _data(client.get("/api/flows", params={"filter": 'equals(status,"live")'}))[0]
    body = {"data": {"type": "flow", "id": flow["id"], "attributes": {"status": "draft"}}}
    _data(client.patch(f"/api/flows/{flow['id']}", json=body))
    assert _data(client.get(f"/api/flows/{flow['id']}"))["attributes"]["status"] == "draft"
    body["data"]["attributes"]["status"] = "paused"
    response = client.patch(f"/api/flows/{flow['id']}", json=body)
    assert response.status_code == 400 and "draft, manual, live" in response.text


def test_get_flow_with_definition_returns_its_actions(client: httpx.Client) -> None:
    flow = _data(client.get("/api/flows"))[0]
    got = _data(
        client.get(f"/api/flows/{flow['id']}", params={"additional-fields[flow]": "definition"})
    )
    definition = got["attributes"]["definition"]
    assert definition["actions"] and definition["entry_action_id"] == definition["actions"][0]["id"]


def test_get_list_with_profile_count_counts_its_members(client: httpx.Client) -> None:
    group = _data(client.get("/api/lists"))[0]
    got = _data(
        client.get(f"/api/lists/{group['id']}", params={"additional-fields[list]": "profile_count"})
    )
    members = client.get(f"/api/lists/{group['id']}/relationships/profiles").json()
    assert got["attributes"]["profile_count"] >= len(members["data"]) > 0


def test_a_review_can_be_published_and_a_rejection_needs_a_reason(client: httpx.Client) -> None:
    pending = _data(client.get("/api/reviews", params={"filter": 'equals(status,"pending")'}))
    assert pending and all(r["attributes"]["status"]["value"] == "pending" for r in pending)
    review = pending[0]
    body: dict[str, Any] = {
        "data": {
            "type": "review",
            "id": review["id"],
            "attributes": {"status": {"value": "published"}},
        }
    }
    updated = _data(client.patch(f"/api/reviews/{review['id']}", json=body))
    assert updated["attributes"]["status"] == {"value": "published"}
    body["data"]["attributes"]["status"] = {"value": "rejected"}
    assert client.patch(f"/api/reviews/{review['id']}", json=body).status_code == 400


def test_a_custom_object_type_fed_by_a_data_source_gets_records_that_read_back(
    client: httpx.Client,
) -> None:
    source = _data(
        client.post(
            "/api/data-sources",
            json={"data": {"type": "data-source", "attributes": {"title": "Rentals"}}},
        ),
        201,
    )
    mapping = [
        {
            "id": n,
            "type": "simple",
            "source": {"data_path": name, "id_path": "rental_id", "source_id": source["id"]},
        }
        for n, name in enumerate(("rental_id", "item"), start=1)
    ]
    schema = {
        "data": {
            "type": "object-schema",
            "attributes": {
                "properties": [
                    {"id": 1, "name": "rental_id", "type": "string"},
                    {"id": 2, "name": "item", "type": "string"},
                ],
                "required": ["rental_id"],
                "source-mapping": {
                    "data": {"type": "source-mapping", "attributes": {"property_mappings": mapping}}
                },
            },
        }
    }
    object_type = _data(
        client.post(
            "/api/object-types",
            json={
                "data": {
                    "type": "object-type",
                    "attributes": {"title": "Rental", "object-schema": schema},
                }
            },
        ),
        201,
    )
    record = {
        "type": "data-source-record",
        "attributes": {"record": {"rental_id": "R-1", "item": "Tent"}},
    }
    body = {
        "data": {
            "type": "data-source-record-create-job",
            "attributes": {"data-source-record": {"data": record}},
            "relationships": {"data-source": {"data": {"type": "data-source", "id": source["id"]}}},
        }
    }
    _data(client.post("/api/data-source-record-create-jobs", json=body), 204)
    records = _data(client.get(f"/api/object-types/{object_type['id']}/object-records"))
    assert [r["attributes"]["record_properties"] for r in records] == [
        {"rental_id": "R-1", "item": "Tent"}
    ]
    one = _data(client.get(f"/api/object-records/{records[0]['id']}"))
    assert one["attributes"]["record_properties"]["item"] == "Tent"


def test_an_image_uploads_from_a_file_and_a_non_image_is_refused(client: httpx.Client) -> None:
    files = {"file": ("trail.png", PNG, "image/png")}
    image = _data(client.post("/api/image-upload", files=files, data={"name": "Trail"}), 201)
    assert image["attributes"]["format"] == "png" and image["attributes"]["size"] == len(PNG)
    assert _data(client.get(f"/api/images/{image['id']}"))["attributes"]["name"] == "Trail"
    text = {"file": ("notes.png", b"just text", "image/png")}
    response = client.post("/api/image-upload", files=text)
    assert response.status_code == 400 and "PNG, JPEG, GIF or WebP" in response.text


def test_a_registered_push_token_belongs_to_its_profile(client: httpx.Client) -> None:
    body = {
        "data": {
            "type": "push-token",
            "attributes": {
                "token": "fcm-test-token-1",
                "platform": "android",
                "vendor": "fcm",
                "profile": {
                    "data": {"type": "profile", "attributes": {"email": "rider@example.org"}}
                },
            },
        }
    }
    _data(client.post("/api/push-tokens", json=body), 202)
    tokens = _data(client.get("/api/push-tokens"))
    token = next(t for t in tokens if t["attributes"]["token"] == "fcm-test-token-1")
    profile = _data(client.get(f"/api/push-tokens/{token['id']}/profile"))
    assert profile["attributes"]["email"] == "rider@example.org"
    mine = _data(client.get(f"/api/profiles/{profile['id']}/push-tokens"))
    assert [t["id"] for t in mine] == [token["id"]]


def test_removing_a_tag_from_lists_unlinks_only_that_tag(client: httpx.Client) -> None:
    group = _data(client.get("/api/lists"))[0]
    tag = _data(client.get("/api/tags"))[0]
    ident = [{"type": "list", "id": group["id"]}]
    _data(client.post(f"/api/tags/{tag['id']}/relationships/lists", json={"data": ident}), 204)
    assert tag["id"] in [t["id"] for t in _data(client.get(f"/api/lists/{group['id']}/tags"))]
    _data(
        client.request(
            "DELETE", f"/api/tags/{tag['id']}/relationships/lists", json={"data": ident}
        ),
        204,
    )
    assert tag["id"] not in [t["id"] for t in _data(client.get(f"/api/lists/{group['id']}/tags"))]


def test_an_encoded_slash_stays_inside_the_path_parameter(client: httpx.Client) -> None:
    group = _data(client.get("/api/lists"))[0]
    response = client.get(f"/api/lists/{group['id']}%2Fprofiles")
    assert response.status_code == 404
    assert f"{group['id']}/profiles" in response.json()["errors"][0]["detail"]
    traversal = client.get(f"/api/lists/{group['id']}%2F..%2F..%2Fprofiles")
    assert traversal.status_code == 404 and "list" in traversal.json()["errors"][0]["detail"]


def test_a_percent_escape_in_a_path_id_is_decoded_exactly_once(client: httpx.Client) -> None:
    response = client.get("/api/lists/a%2541%2Fb")
    assert response.status_code == 404
    assert "'a%41/b'" in response.json()["errors"][0]["detail"]


def test_filters_and_pages_are_bounded_with_400s_that_name_the_limit(client: httpx.Client) -> None:
    long = 'equals(email,"' + "a" * MAX_FILTER_CHARS + '")'
    many = ",".join(f'equals(email,"p{n}@example.org")' for n in range(MAX_CONDITIONS + 1))
    values = ",".join(f'"p{n}@example.org"' for n in range(MAX_LIST_VALUES + 1))
    for text in (long, many, f"any(email,[{values}])"):
        response = client.get("/api/profiles", params={"filter": text})
        assert response.status_code == 400, text[:80]
        assert response.json()["errors"][0]["source"] == {"parameter": "filter"}
    response = client.get("/api/profiles", params={"page[size]": "101"})
    assert response.status_code == 400 and "1 to 100" in response.text


def test_reading_a_campaigns_estimation_job_never_advances_its_send_job(
    client: httpx.Client,
) -> None:
    draft = _data(
        client.get(
            "/api/campaigns",
            params={"filter": 'and(equals(messages.channel,"email"),equals(status,"Draft"))'},
        )
    )[0]
    send = {"data": {"type": "campaign-send-job", "id": draft["id"]}}
    _data(client.post("/api/campaign-send-jobs", json=send), 202)
    estimate = {"data": {"type": "campaign-recipient-estimation-job", "id": draft["id"]}}
    _data(client.post("/api/campaign-recipient-estimation-jobs", json=estimate), 202)
    for _ in range(3):
        _data(client.get(f"/api/campaign-recipient-estimation-jobs/{draft['id']}"))
        _data(client.get(f"/api/campaigns/{draft['id']}"))
    job = _data(client.get(f"/api/campaign-send-jobs/{draft['id']}"))
    assert job["attributes"]["status"] == "processing"
    cancel = {
        "data": {"type": "campaign-send-job", "id": draft["id"], "attributes": {"action": "cancel"}}
    }
    _data(client.patch(f"/api/campaign-send-jobs/{draft['id']}", json=cancel), 204)


def test_a_template_is_created_only_for_an_editor_klaviyo_has(client: httpx.Client) -> None:
    body: dict[str, Any] = {
        "data": {
            "type": "template",
            "attributes": {"name": "Holiday", "editor_type": "CODE", "html": "<p>Hi</p>"},
        }
    }
    made = _data(client.post("/api/templates", json=body), 201)
    assert made["attributes"]["editor_type"] == "CODE"
    body["data"]["attributes"]["editor_type"] = "Example"
    refused = client.post("/api/templates", json=body)
    assert refused.status_code == 400
    assert "CODE, USER_DRAGGABLE, SYSTEM_DRAGGABLE" in refused.text
    assert refused.json()["errors"][0]["source"]["pointer"] == "/data/attributes/editor_type"
