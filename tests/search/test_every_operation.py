"""Search and signatures reach every operation of the catalog, not only the core ones."""

from __future__ import annotations

import ast

from codemode.catalog import Catalog
from codemode.search import SearchIndex, get_signatures
from codemode.search._documents import own_summary
from tests._shared import openapi_operations


def test_every_operation_is_found_first_by_its_own_operation_id(
    index: SearchIndex, catalog: Catalog
) -> None:
    assert len(catalog) == len(openapi_operations())
    misses = {a.id: index.search(a.id, limit=1)[0].id for a in catalog.values()}
    assert {k: v for k, v in misses.items() if k != v} == {}


def test_every_operation_is_in_the_top_5_for_its_own_summary(
    index: SearchIndex, catalog: Catalog
) -> None:
    ids = frozenset(catalog)
    found = {
        a.id: [h.id for h in index.search(own_summary(a, ids), limit=5)] for a in catalog.values()
    }
    misses = {k: v for k, v in found.items() if k not in v}
    assert misses == {}


def test_every_operation_has_a_signature_that_parses_as_python(catalog: Catalog) -> None:
    signatures, unknown = get_signatures(list(catalog), catalog)
    assert unknown == [] and len(signatures) == len(catalog)
    for sig in signatures:
        action = catalog[sig.id]
        assert sig.function == f"klaviyo.{action.group}.{action.id}"
        line = sig.signature.split("klaviyo.", 1)[1].split(".", 1)[1]
        args = line[line.index("(") + 1 : line.rindex(")")]
        ast.parse(
            f"def f({args}): ..."
        )  # the Returns line, not an annotation, says what comes back
        assert sig.doc and sig.kind == action.kind


def test_new_areas_are_found_by_plain_task_words(index: SearchIndex) -> None:
    """Tasks of issue #14 that had no operation before, in a user's words."""
    tasks = {
        "unsubscribe this person from email marketing": "bulk_unsubscribe_profiles",
        "set this flow to draft": "update_flow",
        "upload an image from a file": "upload_image_from_file",
        "publish a product review": "update_review",
        "define a custom object type": "create_object_type",
        "upsert a profile by email": "create_or_update_profile",
    }
    top3 = {q: [h.id for h in index.search(q, limit=3)] for q in tasks}
    assert {q: ids for q, ids in top3.items() if tasks[q] not in ids} == {}
