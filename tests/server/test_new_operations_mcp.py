"""Issue #14's demonstration through the official MCP client: scripts in ``execute_code`` on the
demo simulator unsubscribe a profile and see its consent change, set a flow to draft, moderate a
review, create a custom object type with a record and read them back, and upload an image."""

from __future__ import annotations

import base64
from typing import Any

from mcp import Client

from tests.server.conftest import BuildServer, text_of
from tests.simulator._recipes import PNG

UNSUBSCRIBE = """
person = klaviyo.profiles.get_profiles(page_size=1, additional_fields={"profile": ["subscriptions"]}).data[0]
email = person["email"]
def consent():
    found = klaviyo.profiles.get_profiles(filter=f'equals(email,"{email}")', additional_fields={"profile": ["subscriptions"]})
    return found.data[0]["subscriptions"]["email"]["marketing"]["consent"]
before = consent()
job = {"type": "profile", "attributes": {"email": email, "subscriptions": {"email": {"marketing": {"consent": "UNSUBSCRIBED"}}}}}
klaviyo.profiles.bulk_unsubscribe_profiles(body={"data": {"type": "profile-subscription-bulk-delete-job", "attributes": {"profiles": {"data": [job]}}}})
print(before, "->", consent())
"""

FLOW_TO_DRAFT = """
flow = klaviyo.flows.get_flows(filter='equals(status,"live")').data[0]
klaviyo.flows.update_flow(id=flow["id"], body={"data": {"type": "flow", "id": flow["id"], "attributes": {"status": "draft"}}})
print(flow["status"], "->", klaviyo.flows.get_flow(id=flow["id"]).data["status"])
"""

REVIEW = """
review = klaviyo.reviews.get_reviews(filter='equals(status,"pending")').data[0]
klaviyo.reviews.update_review(id=review["id"], body={"data": {"type": "review", "id": review["id"], "attributes": {"status": {"value": "published"}}}})
print(review["status"]["value"], "->", klaviyo.reviews.get_review(id=review["id"]).data["status"]["value"])
"""

CUSTOM_OBJECT = """
source = klaviyo.custom_objects.create_data_source(body={"data": {"type": "data-source", "attributes": {"title": "Trail passes"}}}).data
mapping = [{"id": n, "type": "simple", "source": {"data_path": name, "id_path": "pass_id", "source_id": source["id"]}} for n, name in [(1, "pass_id"), (2, "trail")]]
schema = {"data": {"type": "object-schema", "attributes": {
    "properties": [{"id": 1, "name": "pass_id", "type": "string"}, {"id": 2, "name": "trail", "type": "string"}],
    "required": ["pass_id"],
    "source-mapping": {"data": {"type": "source-mapping", "attributes": {"property_mappings": mapping}}}}}}
kind = klaviyo.custom_objects.create_object_type(body={"data": {"type": "object-type", "attributes": {"title": "Trail Pass", "object-schema": schema}}}).data
record = {"type": "data-source-record", "attributes": {"record": {"pass_id": "P-7", "trail": "Mesa"}}}
klaviyo.custom_objects.create_data_source_record(body={"data": {"type": "data-source-record-create-job",
    "attributes": {"data-source-record": {"data": record}},
    "relationships": {"data-source": {"data": {"type": "data-source", "id": source["id"]}}}}})
kinds = [k["title"] for k in klaviyo.custom_objects.get_object_types().data]
records = klaviyo.custom_objects.get_records_for_object_type(id=kind["id"]).data
print("Trail Pass" in kinds, [r["record_properties"] for r in records])
"""

IMAGE = f"""
import base64
content = base64.b64decode("{base64.b64encode(PNG).decode()}")
image = klaviyo.images.upload_image_from_file(file=content, name="trail.png").data
print(image["format"], image["size"])
"""


async def _run(make_server: BuildServer, code: str) -> dict[str, Any]:
    built = make_server()
    async with built.running(), Client(built.mcp) as client:
        ran = await client.call_tool("execute_code", {"code": code})
    assert not ran.is_error, text_of(ran)
    result = ran.structured_content
    assert result is not None and result["error"] is None, result
    return result


async def test_unsubscribing_a_profile_from_email_changes_its_consent_on_a_re_read(
    make_server: BuildServer,
) -> None:
    result = await _run(make_server, UNSUBSCRIBE)
    before, after = result["output"].strip().split(" -> ")
    assert after == "UNSUBSCRIBED" and before != after
    assert [c["id"] for c in result["calls"]].count("bulk_unsubscribe_profiles") == 1


async def test_a_flow_set_to_draft_reads_back_as_draft(make_server: BuildServer) -> None:
    result = await _run(make_server, FLOW_TO_DRAFT)
    assert result["output"].strip() == "live -> draft"


async def test_a_pending_review_published_reads_back_published(make_server: BuildServer) -> None:
    result = await _run(make_server, REVIEW)
    assert result["output"].strip() == "pending -> published"


async def test_a_custom_object_type_and_its_record_read_back(make_server: BuildServer) -> None:
    result = await _run(make_server, CUSTOM_OBJECT)
    assert result["output"].strip() == "True [{'pass_id': 'P-7', 'trail': 'Mesa'}]"


async def test_an_image_uploaded_from_file_bytes_is_stored(make_server: BuildServer) -> None:
    result = await _run(make_server, IMAGE)
    assert result["output"].strip() == f"png {len(PNG)}"
