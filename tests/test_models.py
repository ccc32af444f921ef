"""index/models.py is the shared vocabulary: the HTTP schemas mirror it on purpose (their own
Literal types for the spec), and import it without pulling in the engine."""

from __future__ import annotations

import subprocess
import sys
from typing import get_args

import pytest

from index.files import FileFormat
from index.models import OffsetEncoding, SearchMode
from service.schemas import FileFormat as FileFormatOut
from service.schemas import OffsetEncodingIn, SearchModeIn
from tests.conftest import ROOT


def test_the_schemas_literals_are_the_engines_values() -> None:
    assert set(get_args(SearchModeIn)) == {mode.value for mode in SearchMode}
    assert set(get_args(OffsetEncodingIn)) == {encoding.value for encoding in OffsetEncoding}
    assert {kind.value for kind in FileFormatOut} == {kind.value for kind in FileFormat}


@pytest.mark.system
def test_the_schemas_import_neither_the_engine_nor_the_model_runtime() -> None:
    probe = (
        "import sys, service.schemas; "
        "print(sorted(m for m in ('index.engine', 'onnxruntime', 'faiss') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
