"""Check a running semsearch container over HTTP; scripts/docker-test.sh calls it.

    python scripts/docker_smoke.py URL fresh      seeds answer search and support with exact
                                                  citations; a web page is uploaded as a file,
                                                  found and deleted; then a marker document is
                                                  written, and another by an ingest job
    python scripts/docker_smoke.py URL restarted  the marker document survived, searchable, and
                                                  a snapshot of the store is taken, downloaded
    python scripts/docker_smoke.py URL claims DIR write DIR/claims.jsonl (good lines and a bad
                                                  one) and the API's answers to DIR/expected.json
    python scripts/docker_smoke.py URL verdicts DIR DIR/verdicts.jsonl, from a one-shot
                                                  `support --input` run, equals those answers

Standard library only, so any Python 3 on the host can run it. Exits 1 with a one-line reason.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

BOMBING_ARTICLE = "003_997123c907f1ca25"
QUERY = "suicide bombing outside the Islamabad district courts"
CLAIM = "A suicide bombing near the Islamabad district courts killed 12 people."
MARKER = {
    "id": "docker-persistence-check",
    "title": "Container persistence check",
    "text": "The lighthouse keeper of Port Ellis logged every passing ship in a green ledger.",
    "source": "docker-test",
}
JOB_MARKER = {
    "id": "docker-job-check",
    "text": "The ferry to Saint Ives carried a brass bell cast in the year of the flood.",
}


def call(base: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"docker_smoke: {message}")


def check_citation(base: str, citation: dict[str, Any], text: str) -> None:
    document = call(base, "GET", f"/v1/documents/{citation['document_id']}")
    cited = document["text"][citation["char_start"] : citation["char_end"]]
    check(cited == text, f"citation of {citation['document_id']} does not match its text")


def fresh(base: str) -> None:
    hits = call(base, "POST", "/v1/search", {"query": QUERY, "k": 3})["hits"]
    check(bool(hits), "search returned no hits")
    first = hits[0]
    check(first["citation"]["document_id"] == BOMBING_ARTICLE, f"first hit {first['citation']}")
    check(first["citation"]["source"] == "SouthAsianDesk", "citation lacks its source")
    for hit in hits:
        check_citation(base, hit["citation"], hit["text"])

    result = call(base, "POST", "/v1/passages/support", {"claim": CLAIM, "k": 3})
    check(result["verdict"] == "supported", f"verdict {result['verdict']}")
    passage = result["passages"][0]
    check_citation(base, passage["citation"], passage["text"])
    document = call(base, "GET", f"/v1/documents/{passage['citation']['document_id']}")
    for evidence in passage["evidence"]:
        span = document["text"][evidence["char_start"] : evidence["char_end"]]
        check(span == evidence["text"], "evidence offsets do not match the document text")
    texts = [e["text"] for p in result["passages"] for e in p["evidence"]]
    check(any("killed 12 people" in t for t in texts), "no evidence sentence about 12 killed")

    uploaded_file(base)
    written = call(base, "POST", "/v1/documents", {"documents": [MARKER]})["results"][0]
    check(written["status"] in {"created", "unchanged"}, f"marker upsert {written}")
    ingest_job(base)


def uploaded_file(base: str) -> None:
    """A web page through POST /v1/files (read in the image's worker process): 201 with its
    title and format, found by search, then deleted."""
    page = (
        "<html><head><title>Tide tables</title></head><body><nav><a href='/'>Home</a></nav>"
        "<article><h1>Tide tables</h1><p>The spring tide at Port Ellis rose higher than any "
        "recorded since the harbour wall was built, flooding the fish market twice.</p>"
        "</article></body></html>"
    )
    boundary = "docker-smoke-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="tides.html"'
        f"\r\nContent-Type: text/html\r\n\r\n{page}\r\n--{boundary}\r\n"
        f'Content-Disposition: form-data; name="id"\r\n\r\ntides\r\n--{boundary}--\r\n'
    )
    request = urllib.request.Request(base + "/v1/files", data=body.encode(), method="POST")
    request.add_header("content-type", f"multipart/form-data; boundary={boundary}")
    with urllib.request.urlopen(request, timeout=120) as response:
        stored = json.loads(response.read())
        check(response.status == 201, f"file upload answered {response.status}")
    check((stored["format"], stored["title"]) == ("html", "Tide tables"), f"upload {stored}")
    hits = call(base, "POST", "/v1/search", {"query": "spring tide flooded the fish market"})
    check(hits["hits"][0]["citation"]["document_id"] == "tides", "the uploaded page not found")
    call(base, "DELETE", "/v1/documents/tides")


def ingest_job(base: str) -> None:
    """An NDJSON ingest job with one good and one blank record: 202, then done 1, failed 1."""
    body = json.dumps(JOB_MARKER) + "\n" + json.dumps({"id": "blank", "text": " "}) + "\n"
    request = urllib.request.Request(base + "/v1/ingest-jobs", data=body.encode(), method="POST")
    request.add_header("content-type", "application/x-ndjson")
    with urllib.request.urlopen(request, timeout=60) as response:
        check(response.status == 202, f"ingest job answered {response.status}")
        location = response.headers["location"]
    deadline = time.monotonic() + 60
    while (job := call(base, "GET", location))["status"] in ("queued", "running"):
        check(time.monotonic() < deadline, f"ingest job still {job['status']}")
        time.sleep(0.2)
    outcome = (job["status"], job["done"], job["failed"], job["errors"][0]["line"])
    check(outcome == ("succeeded", 1, 1, 2), f"ingest job {job}")


def restarted(base: str) -> None:
    document = call(base, "GET", f"/v1/documents/{MARKER['id']}")
    check(document["text"] == MARKER["text"], "marker document changed or lost")
    hits = call(base, "POST", "/v1/search", {"query": "lighthouse keeper ledger", "k": 1})["hits"]
    check(hits[0]["citation"]["document_id"] == MARKER["id"], "marker is not searchable")
    stats = call(base, "GET", "/v1/stats")
    check(stats["documents"] == 7 and stats["chunks"] == stats["vectors"], f"stats {stats}")
    check(
        call(base, "GET", f"/v1/documents/{JOB_MARKER['id']}")["text"] == JOB_MARKER["text"],
        "the ingest job's document changed or lost",
    )
    snapshot(base)


def snapshot(base: str) -> None:
    """A snapshot of the live service: 202, then ready with every document, downloadable."""
    request = urllib.request.Request(base + "/v1/snapshots", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        check(response.status == 202, f"snapshot answered {response.status}")
        location = response.headers["location"]
    deadline = time.monotonic() + 120
    while (taken := call(base, "GET", location))["status"] == "running":
        check(time.monotonic() < deadline, "snapshot still running")
        time.sleep(0.2)
    check(taken["status"] == "ready" and taken["documents"] == 7, f"snapshot {taken}")
    with urllib.request.urlopen(f"{base}{location}/download", timeout=60) as response:
        check(len(response.read()) == taken["bytes"], "downloaded snapshot of another size")


PIPELINE_CLAIMS = [
    {"id": "bombing", "claim": CLAIM, "k": 2},
    {"id": "bad-k", "claim": CLAIM, "k": 0},
    {"id": "lighthouse", "claim": "The lighthouse keeper logged ships in a ledger.", "k": 1},
]


def claims(base: str, directory: str) -> None:
    """The claims file, and what the API answers for each good line."""
    folder = Path(directory)
    lines = [json.dumps(item) for item in PIPELINE_CLAIMS]
    (folder / "claims.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = {}
    for item in PIPELINE_CLAIMS:
        if item["k"] >= 1:
            body = {key: value for key, value in item.items() if key != "id"}
            expected[item["id"]] = call(base, "POST", "/v1/passages/support", body)
    (folder / "expected.json").write_text(json.dumps(expected), encoding="utf-8")


def verdicts(_: str, directory: str) -> None:
    """Each output line is the API's answer plus the id; the bad line names its field."""
    folder = Path(directory)
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    lines = (folder / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()
    check(len(lines) == len(PIPELINE_CLAIMS), f"{len(lines)} output lines")
    for line, item in zip(lines, PIPELINE_CLAIMS, strict=True):
        answer = json.loads(line)
        check(answer.pop("id") == item["id"], f"line for {item['id']} out of order")
        if item["id"] in expected:
            check(answer == expected[item["id"]], f"{item['id']}: not what the API answered")
        else:
            fields = [error["field"] for error in answer["error"]["errors"]]
            check(answer["error"]["status"] == 422 and fields == ["k"], f"bad line: {answer}")


if __name__ == "__main__":
    url, phase = sys.argv[1], sys.argv[2]
    phases = {"fresh": fresh, "restarted": restarted}
    if phase in ("claims", "verdicts"):
        {"claims": claims, "verdicts": verdicts}[phase](url.rstrip("/"), sys.argv[3])
    else:
        phases[phase](url.rstrip("/"))
    print(f"docker_smoke: {phase}: ok")
