"""Which benchmark tasks Klaviyo's own MCP server could do, judged by endpoint.

Its 28 tools wrap single Klaviyo endpoints. A task counts as covered when every action the classic
agent called has a tool of Klaviyo's server for the same endpoint (its parameters may still be
narrower: this is an upper bound). Only tools present in the measured ``tools/list`` count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ENDPOINTS", "coverage"]

# catalog action -> the klaviyo-mcp-server tool for the same endpoint
ENDPOINTS: Mapping[str, str] = {
    "get_accounts": "klaviyo_get_account_details",
    "get_campaigns": "klaviyo_get_campaigns",
    "get_campaign": "klaviyo_get_campaign",
    "create_campaign": "klaviyo_create_campaign",
    "assign_template_to_campaign_message": "klaviyo_assign_template_to_campaign_message",
    "get_events": "klaviyo_get_events",
    "create_event": "klaviyo_create_event",
    "upload_image_from_url": "klaviyo_upload_image_from_url",
    "get_lists": "klaviyo_get_lists",
    "get_list": "klaviyo_get_list",
    "get_metrics": "klaviyo_get_metrics",
    "get_metric": "klaviyo_get_metric",
    "get_profiles": "klaviyo_get_profiles",
    "get_profile": "klaviyo_get_profile",
    "create_profile": "klaviyo_create_profile",
    "update_profile": "klaviyo_update_profile",
    "query_campaign_values": "klaviyo_get_campaign_report",
    "query_flow_values": "klaviyo_get_flow_report",
    "get_segments": "klaviyo_get_segments",
    "get_segment": "klaviyo_get_segment",
    "create_template": "klaviyo_create_email_template",
    "get_template": "klaviyo_get_email_template",
    "get_catalog_items": "klaviyo_get_catalog_items",
    "get_flows": "klaviyo_get_flows",
    "get_flow": "klaviyo_get_flow",
}


def coverage(
    classic_calls: Sequence[str], klaviyo: Mapping[str, Any], turns: int
) -> dict[str, Any]:
    """Coverage of one task, and the definition tokens Klaviyo's server would cost over its turns."""
    if not klaviyo.get("available") or not classic_calls:
        return {"covered": False, "missing": sorted(set(classic_calls))}
    names = set(klaviyo.get("tool_names", ()))
    missing = sorted({c for c in classic_calls if ENDPOINTS.get(c) not in names})
    out: dict[str, Any] = {"covered": not missing, "missing": missing}
    if not missing:
        out["tools"] = sorted({ENDPOINTS[c] for c in classic_calls})
        out["definition_tokens"] = int(klaviyo["definition_tokens"]) * turns
    return out
