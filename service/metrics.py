"""Prometheus metrics: requests by route and status, latency histograms, embedding work,
documents/chunks/vectors and the last vector index build, served at GET /metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from index.engine import SearchEngine
from index.jobs.runner import JobRunner
from index.jobs.store import JobStore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_BUCKETS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _EngineCollector(Collector):
    """Read at scrape time from the engine, so the figures are never stale."""

    def __init__(self, engine: Callable[[], SearchEngine | None]) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Metric]:
        engine = self._engine()
        if engine is None:  # still starting
            return
        # Totals: a label per collection is unbounded. Read without opening any collection
        # (the embedded store keeps each one's counts from its SQLite file until it changes).
        totals = engine.totals()
        yield GaugeMetricFamily(
            "semsearch_collections", "Collections in the store.", value=totals.collections
        )
        for name, what, value in (
            ("documents", "Documents in the store", totals.documents),
            ("chunks", "Chunks in the store", totals.chunks),
            ("vectors", "Vectors in the store (one stored with each chunk)", totals.chunks),
        ):
            yield GaugeMetricFamily(
                f"semsearch_{name}", f"{what}, every collection's.", value=value
            )
        texts, seconds = engine.embedder.totals()
        yield CounterMetricFamily(
            "semsearch_embedded_texts", "Texts run through the model.", value=texts
        )
        yield CounterMetricFamily(
            "semsearch_embedding_seconds", "Seconds spent embedding texts.", value=seconds
        )
        if engine.last_index_build_seconds is not None:
            yield GaugeMetricFamily(
                "semsearch_index_build_seconds",
                "Duration of the last vector index rebuild from the store.",
                value=engine.last_index_build_seconds,
            )


class _JobCollector(Collector):
    """Jobs by status (from the job store every replica shares) and this server's ingest work."""

    def __init__(self, jobs: Callable[[], tuple[JobStore, JobRunner] | None]) -> None:
        self._jobs = jobs

    def collect(self) -> Iterator[Metric]:
        found = self._jobs()
        if found is None:  # still starting
            return
        store, runner = found
        by_status = GaugeMetricFamily(
            "semsearch_ingest_jobs", "Ingest jobs in the store, by status.", labels=["status"]
        )
        for status, count in store.counts().items():
            by_status.add_metric([status.value], count)
        yield by_status
        documents = CounterMetricFamily(
            "semsearch_ingest_job_documents",
            "Records this server's worker took out of jobs, by outcome: ingested or failed "
            "(refused); their rate over semsearch_ingest_job_seconds is documents per second.",
            labels=["outcome"],
        )
        documents.add_metric(["ingested"], runner.totals.ingested)
        documents.add_metric(["failed"], runner.totals.failed)
        yield documents
        yield CounterMetricFamily(
            "semsearch_ingest_job_seconds",
            "Seconds this server's worker spent on jobs.",
            value=runner.totals.seconds,
        )


class Metrics:
    """One registry per app (tests open several apps in one process)."""

    def __init__(
        self,
        engine: Callable[[], SearchEngine | None],
        jobs: Callable[[], tuple[JobStore, JobRunner] | None],
    ) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "semsearch_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "semsearch_request_duration_seconds",
            "HTTP request latency, by route template.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_EngineCollector(engine))
        self.registry.register(_JobCollector(jobs))

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self._requests.labels(method, route, str(status)).inc()
        self._latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
