"""Shared fixtures: one catalog and one index for the whole search test package (built once)."""

from __future__ import annotations

import pytest

from codemode.catalog import Catalog, load_catalog
from codemode.search import SearchIndex


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture(scope="session")
def index(catalog: Catalog) -> SearchIndex:
    return SearchIndex(catalog)
