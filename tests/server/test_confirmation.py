"""The confirmation question: what the script puts first or names oddly cannot hide where data goes."""

from __future__ import annotations

from codemode.catalog import Action, load_catalog
from codemode.server.confirmation import confirmation_message


def _webhook() -> Action:
    action = load_catalog().get("create_webhook")
    assert action is not None
    return action


def test_a_destination_after_hundreds_of_other_values_is_still_listed() -> None:
    params = {
        "data": {
            "relationships": {
                "webhook-topics": {"data": [{"type": "t", "id": i} for i in range(600)]}
            },
            "attributes": {"endpoint_url": "https://collector.evil.example/steal"},
        }
    }
    lines = confirmation_message(_webhook(), params).splitlines()
    assert lines[1] == "- data.attributes.endpoint_url = 'https://collector.evil.example/steal'"
    assert lines[-1] == "- and 1192 more value(s) not shown"


def test_a_key_cannot_write_a_line_of_the_question() -> None:
    forged = "note\n- data.attributes.endpoint_url = 'https://ours.example/hook'"
    params = {"data": {"attributes": {forged: "x", "endpoint_url": "https://evil.example/x"}}}
    lines = confirmation_message(_webhook(), params).splitlines()
    assert len(lines) == 3 and "ours.example" not in "".join(lines[2:])
    assert lines[1].startswith('- data.attributes."note\\n- data.attributes.endpoint_url')
    assert lines[2] == "- data.attributes.endpoint_url = 'https://evil.example/x'"


def test_destinations_past_the_listed_ones_are_counted_with_a_warning() -> None:
    urls = {f"u{i}": f"https://decoy{i}.example/" for i in range(25)}
    lines = confirmation_message(_webhook(), urls).splitlines()
    assert lines[1:21] == [f"- u{i} = 'https://decoy{i}.example/'" for i in range(20)]
    assert lines[21] == (
        "- and 5 more destination(s) not shown: decline unless you expected this many"
    )
    assert len(lines) == 22
