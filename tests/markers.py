"""Markers shared by test modules."""

from __future__ import annotations

import pytest

# A test of the embedded store's own machinery (FAISS files, the SQLite file, the data
# directory): it runs on that backend only (conftest's backend_kind runs the rest on both).
embedded_only = pytest.mark.parametrize("backend_kind", ["embedded"])
