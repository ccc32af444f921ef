# Two commands: `make run` serves the seed corpus, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: chromium install run test test-fast lint typecheck pytest openapi fuzz soak bench bench-load bench-scale bench-scale-postgres bench-capacity bench-hostile bench-ingest bench-collections bench-snapshot bench-files bench-quality bench-stance bench-results bench-duplicates bench-pipeline train-stance docker-image docker-test compose-test clean

install: $(STAMP)

# Reinstall only when the dependency pins change.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,ray]'
	touch $(STAMP)

run: install
	$(BIN)/semsearch serve

lint: install
	$(BIN)/ruff check index service tests bench scripts
	$(BIN)/ruff format --check index service tests bench scripts

typecheck: install
	$(BIN)/mypy

# pytest exits 5 when it collected no tests: make treats any non-zero exit as a failure.
pytest: install chromium
	$(BIN)/python -m pytest

# Headless Chromium for the search page's browser tests (tests/test_ui_browser.py), from
# Debian's packages when missing; Playwright drives it (its own browser download is not used).
# Without root or apt the browser tests skip and say why.
chromium:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
		|| echo "chromium is missing (install Debian's chromium): the browser tests will skip"

test: lint typecheck pytest

# The in-process tier (engine, TestClient, units: about 70 s), for a quick loop while editing;
# `make test` runs it and the system tier (servers, processes, clients, Docker-free).
test-fast: install
	$(BIN)/python -m pytest -m "not system"

openapi: install
	$(BIN)/python -m service.openapi > openapi/openapi.json

# A larger schemathesis campaign than the one in `make test`: more examples, a random seed.
FUZZ_EXAMPLES ?= 300
fuzz: install
	SEMSEARCH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) SEMSEARCH_FUZZ_SEED= $(BIN)/python -m pytest -s tests/test_contract_fuzz.py

# 200 SIGKILL/restart rounds instead of the 20 in `make test`.
soak: install
	SEMSEARCH_CRASH_ROUNDS=200 $(BIN)/python -m pytest -s tests/test_crash.py

# Speed on SciFact against a baseline measured in the same run (BENCH_ARGS="--docs 500" for
# a quick look), then what writes cost: one-document upserts on the seed store and SciFact, and
# bulk loads through `semsearch ingest`, an ingest job and HTTP batches against the model alone
# (WRITES_ARGS="--docs 500" for a quick look; BEFORE=REV measures commit REV's code too, in the
# same run); then results that read well (bench-results) and claims as a pipeline step
# (bench-pipeline). Figures land in bench/speed.json, writes.json, results.json, pipeline.json.
BENCH_ARGS ?=
WRITES_ARGS ?=
BEFORE ?=
WRITES_BEFORE = $(if $(BEFORE),--before $(BEFORE))
bench: install
	$(BIN)/python bench/speed.py --json bench/speed.json $(BENCH_ARGS)
	$(BIN)/python bench/writes.py --json bench/writes.json $(WRITES_BEFORE) $(WRITES_ARGS)
	$(BIN)/python bench/results.py --choose --json bench/results.json
	$(BIN)/python bench/pipeline.py --json bench/pipeline.json

# Claims per second through `semsearch support --input` against one HTTP request per claim and
# against HTTP batches, in one run; figures in bench/pipeline.json.
bench-pipeline: install
	$(BIN)/python bench/pipeline.py --json bench/pipeline.json

# Highlights (hit@1 on SciFact against the first sentence; --choose scores every word weight
# tried), grouping and diversity (document nDCG@10, distinct documents) and what each costs
# in search p50; figures in bench/results.json.
bench-results: install
	$(BIN)/python bench/results.py --choose --json bench/results.json

# Near-duplicate detection: precision and recall on a set built from the seeds and SciFact,
# and the fingerprint's cost per document; figures in bench/duplicates.json.
bench-duplicates: install
	$(BIN)/python bench/duplicates.py --json bench/duplicates.json

# The vector index at 1M chunks: IVF against exact search, recall@10, deletes, memory
# (SCALE_ARGS="--vectors 200000" for a quick look); then a store of 1M chunks built through the
# embedded backend: one-document upserts over HTTP and the time to ready after SIGKILL
# (BEFORE=REV as for bench). Figures land in bench/scale.json and bench/writes_large.json.
SCALE_ARGS ?=
bench-scale: install
	$(BIN)/python bench/scale.py --json bench/scale.json $(SCALE_ARGS)
	$(BIN)/python bench/writes.py --large --json bench/writes_large.json $(WRITES_BEFORE)

# The same on PostgreSQL + pgvector: the HNSW index at 1M chunks against exact search, with and
# without a source filter, build time, sizes and server memory; figures land in
# bench/scale_postgres.json.
bench-scale-postgres: install
	$(BIN)/python bench/scale_postgres.py --json bench/scale_postgres.json $(SCALE_ARGS)

# Capacity on PostgreSQL: CPU per hybrid search on a replica and on PostgreSQL (from /proc), what
# N replicas on one PostgreSQL of C cores carry, bytes per chunk and the HNSW build projected to
# 10M and 100M chunks, and a replica SIGKILLed under load (CAPACITY_ARGS="--docs 500" for a quick
# look); figures in bench/capacity.json.
CAPACITY_ARGS ?=
bench-capacity: install
	$(BIN)/python bench/capacity.py --json bench/capacity.json $(CAPACITY_ARGS)

# HTTP load on loopback: p50/p95/p99 and requests/s at 1, 8 and 32 clients.
bench-load: install
	$(BIN)/python bench/load.py

# What one hostile request costs a live server (issue 13's findings); HOSTILE_ARGS="--source
# DIR" runs the server of another checkout (a worktree of an older commit) for a before figure.
HOSTILE_ARGS ?=
# Bulk ingest of SciFact: local cores against a Ray cluster of one and two 1-CPU nodes, and over
# HTTP as one ingest job against synchronous batches (INGEST_ARGS="--docs 1000" for a quick
# look); figures also land in bench/ingest.json.
INGEST_ARGS ?=
bench-ingest: install
	$(BIN)/python bench/ingest.py --json bench/ingest.json $(INGEST_ARGS)

# Search p50 on the default collection alone and beside 20 collections of 1,000 SciFact chunks
# (COLLECTIONS_ARGS="--default-docs 100" for a quick look); figures also in bench/collections.json.
COLLECTIONS_ARGS ?=
bench-collections: install
	$(BIN)/python bench/collections.py --json bench/collections.json $(COLLECTIONS_ARGS)

# Snapshot and restore of SciFact: seconds, peak extra memory, archive bytes per chunk
# (SNAPSHOT_ARGS="--docs 1000" for a smaller corpus, to see memory does not grow with it;
# SNAPSHOT_ARGS="--chunks 1000000 --json bench/snapshot_large.json" for a synthetic 1M-chunk
# store built through the backend).
SNAPSHOT_ARGS ?=
bench-snapshot: install
	$(BIN)/python bench/snapshot.py --json bench/snapshot.json $(SNAPSHOT_ARGS)

# Reading files: time per format (in process and through the bounded worker) and what the HTML
# extractor keeps of the seed pages; figures land in bench/files.json.
bench-files: install
	$(BIN)/python bench/files.py --json bench/files.json

bench-hostile: install
	$(BIN)/python bench/hostile.py --json bench/hostile.json $(HOSTILE_ARGS)

# Retrieval and support quality on SciFact (training split), read in place from ../shared;
# the support verdicts on the claims the stance model never saw (CLAIMS_SPLIT=all for all).
SCIFACT ?= ../shared/eval/scifact
CLAIMS_SPLIT ?= held_out
bench-quality: install
	$(BIN)/semsearch eval $(SCIFACT) --claims $(SCIFACT)/claims_train.jsonl --claims-split $(CLAIMS_SPLIT)

# Train the stance model from the packaged MiniLM weights on the NLI pairs of ../shared/eval/nli
# and SciFact training claims (see docs/quality.md, Stance and verdicts, for the time; never run by
# install, start-up or tests), export it to int8 ONNX and record it in
# index/stance_model/stance.json with its thresholds and held-out figures.
NLI ?= ../shared/eval/nli
train-stance: install
	$(BIN)/python -m scripts.train_stance --dataset $(SCIFACT) --nli $(NLI) --out index/stance_model

# The stance model and its verdict on pairs and claims it never trained on, beside the previous
# model (needs the SciFact index train-stance leaves in the temporary directory).
bench-stance: install
	$(BIN)/python bench/stance.py --nli $(NLI) --scifact $(SCIFACT) --json bench/stance.json

# The container image (needs a reachable Docker engine); see docs/docker.md.
docker-image: install
	PYTHON=$(BIN)/python scripts/docker-build.sh

# Build and prove the image in a real engine (a private dockerd if none runs), then clean up.
docker-test: install
	PYTHON=$(BIN)/python scripts/docker-test.sh

# Run compose.yaml for real with Docker Compose v2 (Debian's, if the CLI lacks it): two replicas
# over PostgreSQL 17 + pgvector built from Debian's packages in place of the registry's
# pgvector/pgvector:pg17 (scripts/compose.test.yaml swaps that image and nothing else), then
# take it all down.
compose-test: install
	PYTHON=$(BIN)/python scripts/compose-test.sh

clean:
	rm -rf $(VENV) data .docker .pytest_cache .mypy_cache .ruff_cache tests/typescript/node_modules tests/typescript/generated tests/typescript/dist
