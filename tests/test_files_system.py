"""Files through real processes: `semsearch ingest` reads a directory of every format and names
each file it skips; a live server keeps answering searches while a pathological PDF is read
(and cut off at its time bound) in a worker process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_cli, running_server
from tests.file_fixtures import article_page, memo_docx, report_pdf, scattered_pdf

pytestmark = pytest.mark.system  # starts servers or processes (docs/development.md)


def test_ingest_reads_every_format_and_names_each_file_it_skips(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "report.pdf").write_bytes(report_pdf().data)
    (corpus / "memo.docx").write_bytes(memo_docx())
    (corpus / "islamabad.html").write_bytes(article_page()[0])
    (corpus / "rota.md").write_text("# Pilot rota\n\nNight pilots are doubled this week.\n")
    (corpus / "damaged.pdf").write_bytes(report_pdf().data[:600])
    (corpus / "setup.pdf").write_bytes(b"MZ" + bytes(100))
    data = tmp_path / "data"
    ingest = run_cli(data, "ingest", str(corpus))
    assert ingest.returncode == 1, ingest.stderr  # two files skipped
    assert "4 created, 0 updated, 0 unchanged, 2 skipped" in ingest.stdout, ingest.stdout
    skipped = [line for line in ingest.stderr.splitlines() if "semsearch: skipped" in line]
    assert any("damaged.pdf" in line and "damaged PDF" in line for line in skipped), skipped
    assert any("setup.pdf" in line and "Windows program" in line for line in skipped), skipped

    search = run_cli(data, "search", "eastern breakwater storm damage", "-k", "1")
    assert search.returncode == 0 and "(report " in search.stdout, search.stdout
    berth = run_cli(data, "search", "which berth is closed for resurfacing", "-k", "1")
    assert "(memo " in berth.stdout, berth.stdout


def test_searches_go_on_while_a_pathological_pdf_is_read_and_cut_off(tmp_path: Path) -> None:
    slow = scattered_pdf(2500)  # about 30 s of layout analysis unbounded (2,000 took 19 s)
    settings = {"SEMSEARCH_FILE_PARSE_SECONDS": "4"}
    with running_server(tmp_path / "data", settings) as server:
        outcome: dict[str, httpx.Response] = {}

        def upload() -> None:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                outcome["upload"] = http.post(
                    "/v1/files", files={"file": ("scattered.pdf", slow, "application/pdf")}
                )

        uploading = threading.Thread(target=upload)
        started = time.monotonic()
        uploading.start()
        answered_meanwhile = 0
        with httpx.Client(base_url=server.url, timeout=30) as http:
            while uploading.is_alive():
                response = http.post("/v1/search", json={"query": "Islamabad bombing", "k": 3})
                assert response.status_code == 200 and response.json()["hits"]
                if uploading.is_alive():
                    answered_meanwhile += 1
            uploading.join()
        refused = outcome["upload"]
        assert refused.status_code == 422, refused.text
        assert "took more than 4 s" in refused.json()["detail"]
        assert time.monotonic() - started < 30  # cut off at its bound, not read to the end
        # Searches were answered all along: dozens while the file was being read.
        assert answered_meanwhile >= 10, answered_meanwhile
        with httpx.Client(base_url=server.url, timeout=60) as http:
            fine = http.post(
                "/v1/files", files={"file": ("report.pdf", report_pdf().data, "application/pdf")}
            )
            assert fine.status_code == 201, fine.text  # the reader was replaced and works
