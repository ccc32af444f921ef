"""Offsets in the client's own string units (offset_encoding), over live HTTP: a document with
emoji, CJK, combining marks and astral characters, every citation, highlight and evidence
slice exact in code points (Python), UTF-16 code units (JavaScript, Java) and UTF-8 bytes (Go,
Rust)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from index.models import OffsetEncoding
from index.offsets import length
from tests.conftest import Server

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)

MIXED_ID = "offsets-mixed"
# Astral characters (emoji, U+1D400 math letters, CJK extension B), combining marks, CJK.
MIXED_TEXT = (
    "Flood warning 🌊🌧️ for the river delta. Residents were told to leave by noon.\n"
    "The mayor, José Nuñez (a\u0301), said the levee near 𝐀𝐁𝐂 district could fail.\n"
    "洪水警报已经发布。居民被要求在中午前撤离 🚨. Officials in 𠀀𠀁 province agreed.\n"
    "Rescue boats 🛶 reached the flooded villages by evening, and no one was hurt.\n"
    "On the second day 🌤️ the water fell by a metre. 政府承诺为受灾家庭提供临时住所。"
    "Engineers from 𝔇𝔢𝔩𝔱𝔞 Works inspected the levee near 𝐀𝐁𝐂 district and found two breaches.\n"
    "Farmers counted their losses 🐄🐖: crops on 3,000 hectares were under water 💧.\n"
    "The school in 𠀂 village reopened a week later, its library dried out page by page 📚."
)


def _slice(text: str, start: int, end: int, encoding: str) -> str:
    """``text[start:end]`` as a client of that encoding's languages slices it."""
    if encoding == "utf-16":
        return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")
    if encoding == "utf-8":
        return text.encode("utf-8")[start:end].decode("utf-8")
    return text[start:end]


@pytest.fixture(scope="module")
def mixed(server: Server) -> str:
    with httpx.Client(base_url=server.url, timeout=60) as http:
        document = {"id": MIXED_ID, "title": "Delta floods 🌊", "text": MIXED_TEXT}
        assert http.post("/v1/documents", json={"documents": [document]}).status_code == 200
        text: str = http.get(f"/v1/documents/{MIXED_ID}").json()["text"]
    assert any(ord(ch) > 0xFFFF for ch in text)  # the astral characters survived cleaning
    return text


@pytest.mark.parametrize("encoding", ["utf-32", "utf-16", "utf-8"])
def test_every_search_citation_slices_exactly_in_its_encoding(
    client: httpx.Client, mixed: str, encoding: str
) -> None:
    response = client.post(
        "/v1/search",
        json={
            "query": "flood warning levee 洪水 rescue boats",
            "k": 20,
            "offset_encoding": encoding,
            "filters": {"document_ids": [MIXED_ID]},
            "highlights": 5,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["offset_encoding"] == encoding
    assert body["hits"]
    for hit in body["hits"]:
        citation = hit["citation"]
        assert _slice(mixed, citation["char_start"], citation["char_end"], encoding) == hit["text"]
        assert hit["highlights"]
        for mark in hit["highlights"]:  # each a sentence inside the hit, exact in the encoding
            assert _slice(mixed, mark["char_start"], mark["char_end"], encoding) == mark["text"]
            assert citation["char_start"] <= mark["char_start"] < mark["char_end"]
            assert mark["char_end"] <= citation["char_end"]


@pytest.mark.parametrize("encoding", ["utf-32", "utf-16", "utf-8"])
def test_every_support_citation_and_evidence_slices_exactly(
    client: httpx.Client, mixed: str, encoding: str
) -> None:
    response = client.post(
        "/v1/passages/support",
        json={
            "claim": "Officials in the province agreed that residents must leave by noon.",
            "offset_encoding": encoding,
            "filters": {"document_ids": [MIXED_ID]},
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["offset_encoding"] == encoding and body["passages"]
    slices = 0
    for passage in body["passages"]:
        citation = passage["citation"]
        assert (
            _slice(mixed, citation["char_start"], citation["char_end"], encoding)
            == (passage["text"])
        )
        for evidence in passage["evidence"]:
            assert (
                _slice(mixed, evidence["char_start"], evidence["char_end"], encoding)
                == (evidence["text"])
            )
            slices += 1
    assert slices >= 1


@pytest.mark.parametrize(
    ("encoding", "count"),
    [
        ("utf-32", len),
        ("utf-16", lambda t: len(t.encode("utf-16-le")) // 2),
        ("utf-8", lambda t: len(t.encode())),
    ],
)
def test_char_count_is_in_the_asked_unit(
    client: httpx.Client, mixed: str, encoding: str, count: Callable[[str], int]
) -> None:
    response = client.get(f"/v1/documents/{MIXED_ID}", params={"offset_encoding": encoding})
    assert response.status_code == 200, response.text
    assert response.json()["char_count"] == count(mixed)
    assert count(mixed) != len(mixed) or encoding == "utf-32"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/search", {"query": "flood", "offset_encoding": "utf-16le"}),
        ("POST", "/v1/passages/support", {"claim": "flood", "offset_encoding": "bytes"}),
        ("GET", f"/v1/documents/{MIXED_ID}?offset_encoding=UTF-16", None),
    ],
)
def test_an_unknown_encoding_is_422_naming_the_field(
    client: httpx.Client, method: str, path: str, body: object
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert "offset_encoding" in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("text", ["", "plain ascii", "é", "🌊", "a\u0301", "洪水", "𠀀x🚨y"])
def test_length_matches_each_encoding(text: str) -> None:
    assert length(text, OffsetEncoding.UTF32) == len(text)
    assert length(text, OffsetEncoding.UTF16) == len(text.encode("utf-16-le")) // 2
    assert length(text, OffsetEncoding.UTF8) == len(text.encode("utf-8"))
