"""Service configuration: every knob is an environment variable with the SEMSEARCH_ prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from index.backends import BackendConfig, backend_config
from index.backends.embedded.saver import SAVE_AFTER_CHANGES
from index.backends.embedded.vectors import IVF_MIN_VECTORS
from index.backends.postgres import MAX_EF_SEARCH, urls
from index.engine import EngineConfig
from index.files import FileReader
from index.jobs.models import JobLimits
from index.model_export import Precision
from index.snapshot_dir import SnapshotDirectory
from index.support import DEFAULT_MIN_CONTRADICTION, DEFAULT_MIN_SUPPORT
from service.keys import Grant, parse_api_keys, read_api_keys_file


class Settings(BaseSettings):
    """Read from SEMSEARCH_* environment variables (e.g. SEMSEARCH_PORT=9000)."""

    model_config = SettingsConfigDict(env_prefix="SEMSEARCH_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where the SQLite store and FAISS index live.")
    database_url: SecretStr | None = Field(
        None,
        description="postgresql://user:password@host:5432/db: keep documents and vectors in "
        "PostgreSQL with pgvector, which several servers may share, instead of the data "
        "directory. Never logged or shown with its password.",
    )
    database_statement_timeout: float = Field(
        30.0, gt=0, le=3600, description="Seconds any one database statement may run."
    )
    database_ef_search: int | None = Field(
        None,
        ge=10,
        le=MAX_EF_SEARCH,
        description="Candidates pgvector's HNSW search keeps per query (at least k): higher "
        "finds more of the true nearest chunks, a little slower. Unset: by the size of the "
        "collection searched, from 40 at 20,000 chunks up to 800 at a million.",
    )
    database_pool_size: int = Field(
        8,
        ge=1,
        le=1000,
        description="Connections each server keeps to PostgreSQL for searches and writes "
        "(ingest-job bookkeeping keeps up to 4 more).",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP server binds.")
    port: int = Field(8000, ge=1, le=65535, description="Port the HTTP server listens on.")
    seed_dir: Path | None = Field(
        Path("seeds"),
        description="Corpus indexed on first start into an empty store; empty string disables.",
    )
    chunk_tokens: int = Field(128, ge=16, le=254, description="Most wordpieces per chunk.")
    chunk_overlap_tokens: int = Field(
        32, ge=0, description="Most wordpieces of whole sentences repeated between chunks."
    )
    model_precision: Precision = Field(
        Precision.INT8,
        description="int8 (about 2.5x faster) or fp32 model weights; a change re-embeds each "
        "document on its next upsert.",
    )
    max_concurrency: int = Field(
        4, ge=1, le=64, description="Engine calls (embedding, search) running at once."
    )
    max_k: int = Field(
        100, ge=1, le=100, description="Most hits or passages one request may ask for (k)."
    )
    max_query_chars: int = Field(
        10_000, ge=1, le=10_000, description="Longest query or claim, in characters."
    )
    max_batch_queries: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Most searches or claims one batch request (POST .../batch) may hold.",
    )
    max_queued: int = Field(
        64,
        ge=0,
        description="Engine calls that may wait for a slot; beyond them requests get 429.",
    )
    min_support: float = Field(
        DEFAULT_MIN_SUPPORT,
        ge=0.0,
        le=1.0,
        description="Best support needed for the verdict 'supported' (fitted with the stance "
        "model on calibration claims and pairs).",
    )
    min_contradiction: float = Field(
        DEFAULT_MIN_CONTRADICTION,
        ge=0.0,
        le=1.0,
        description="Best contradiction needed for the verdict 'contradicted' (fitted with "
        "the stance model on calibration claims and pairs).",
    )
    max_request_bytes: int = Field(
        16 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_document_chars: int = Field(
        1_000_000, ge=1, description="Longest document text accepted, in characters (413 above)."
    )
    max_batch_documents: int = Field(
        1000, ge=1, description="Most documents in one upsert request (413 above)."
    )
    max_job_documents: int = Field(
        1_000_000, ge=1, description="Most documents in one ingest job (413 above)."
    )
    max_job_bytes: int = Field(
        1024**3,
        ge=1024,
        description="Largest ingest job body (413 above); streamed to disk, not held in memory.",
    )
    max_file_bytes: int = Field(
        50 * 1024 * 1024,
        ge=1024,
        description="Largest file accepted by the file upload (413 above).",
    )
    file_parse_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Time one file may take to read (PDF layout analysis is the slow part); "
        "then 422 and its reading process is replaced.",
    )
    file_parse_memory_mb: int = Field(
        1024,
        ge=256,
        description="Memory (address space, MiB) a file may take to read, beyond what its "
        "reading process holds once started; a file that needs more gets 422.",
    )
    file_workers: int = Field(
        1, ge=1, le=64, description="Processes reading uploaded files, each one file at a time."
    )
    max_active_jobs: int = Field(
        100,
        ge=1,
        description="Ingest jobs queued or running at once; one more gets 429 until one finishes.",
    )
    job_errors_kept: int = Field(
        1000,
        ge=0,
        description="Refused records stored and shown per ingest job (the first ones); its "
        "`failed` counts them all.",
    )
    jobs_kept: int = Field(
        1000,
        ge=0,
        description="Finished ingest jobs kept (the newest); older ones are removed with their "
        "errors.",
    )
    job_retention_hours: float = Field(
        168.0,
        ge=0,
        description="Hours a finished ingest job is kept (default a week); then it is removed "
        "with its errors.",
    )
    job_lease_seconds: float = Field(
        60.0,
        ge=1,
        le=3600,
        description="How long a running ingest job stays with a server that stopped renewing "
        "it (killed, cut off) before another may take it over.",
    )
    ray_address: str | None = Field(
        None,
        description="Chunk and embed ingest jobs on the Ray cluster at this address "
        "(host:port, or auto); needs the ray extra. Unset: on this server's cores.",
    )
    request_timeout: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Seconds a client has to send a whole request (headers and body) from when "
        "its connection opens or its previous response ends; then 408 and the connection "
        "closes.",
    )
    max_connections: int = Field(
        256, ge=1, description="Open HTTP connections; one more gets 503 and is closed at once."
    )
    model_cache_dir: Path | None = Field(
        None,
        description="Where the model's ONNX export is cached (made on first start); "
        "default $XDG_CACHE_HOME/semsearch, i.e. ~/.cache/semsearch.",
    )
    ivf_min_vectors: int = Field(
        IVF_MIN_VECTORS,
        ge=1,
        description="Chunks from which the vector index is IVF (approximate, recall@10 about "
        "0.95) instead of exact; it switches on the write that crosses it.",
    )
    vector_save_changes: int = Field(
        SAVE_AFTER_CHANGES,
        ge=1,
        description="Embedded store: a collection's vector index file is saved in the "
        "background once this many chunk changes (or a quarter of its vectors, if more) "
        "were written since its last save, and when it closes; a start after a crash applies "
        "the changes since from the store. Writes never wait for it.",
    )
    max_collections: int = Field(
        1000,
        ge=1,
        description="Most collections, default included; creating one more gets 409 until one "
        "is deleted. Every server sharing a database should set the same.",
    )
    max_open_collections: int = Field(
        64,
        ge=1,
        description="Embedded store: collections held open besides default (each holds its "
        "vector index in memory, 3 files and tantivy's threads); a collection opens on use and "
        "the least recently used one closes to make room.",
    )
    collection_idle_seconds: float = Field(
        300.0,
        gt=0,
        description="Embedded store: a collection (other than default) unused this long is "
        "closed; it reopens on its next use.",
    )
    snapshot_dir: Path = Field(
        Path("snapshots"),
        description="Where snapshots are kept (`POST /v1/snapshots`, `semsearch snapshot "
        "create`); never inside a collection's data.",
    )
    snapshot_keep: int = Field(
        10, ge=1, description="Snapshots kept: once a new one is ready, the oldest go."
    )
    api_keys: str | None = Field(
        None,
        description="API keys with scopes, 'key1:read,key2:write,key3:read:news' (a third "
        "field restricts a key to that one collection); set, every data endpoint needs a key. "
        "Unset (and no keys file): no authentication.",
    )
    api_keys_file: Path | None = Field(
        None, description="A file of KEY:SCOPE[:COLLECTION] lines (# comments), read at start."
    )
    metrics_need_key: bool = Field(
        False, description="GET /metrics needs a read API key (when keys are configured)."
    )
    cors_origins: str | None = Field(
        None,
        description="Browser origins allowed to call the API, comma-separated "
        "(e.g. 'https://app.example.org'); none by default.",
    )
    ui: bool = Field(
        True, description="Serve the search page at / and /ui; false for API-only deployments."
    )
    log_level: str = Field("info", description="Python logging level name.")

    @field_validator("api_keys")
    @classmethod
    def _valid_keys(cls, value: str | None) -> str | None:
        if value:
            parse_api_keys(value)  # raises ValueError, naming the problem
        return value

    def allowed_origins(self) -> list[str]:
        return [o.strip() for o in (self.cors_origins or "").split(",") if o.strip()]

    @field_validator("api_keys_file")
    @classmethod
    def _valid_keys_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                read_api_keys_file(value)  # raises ValueError, naming the problem
            except OSError as error:
                raise ValueError(f"cannot read {value}: {error.strerror}") from error
        return value

    def keys(self) -> dict[str, Grant]:
        """Every configured API key with its scope (the variable's and the file's)."""
        keys = parse_api_keys(self.api_keys or "")
        if self.api_keys_file is not None:
            keys |= read_api_keys_file(self.api_keys_file)
        return keys

    @field_validator("database_url")
    @classmethod
    def _postgresql_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            urls.check(value.get_secret_value())  # raises ValueError, naming the problem
        return value

    @field_validator(
        "seed_dir", "model_cache_dir", "api_keys_file", "database_url", "ray_address", mode="before"
    )
    @classmethod
    def _empty_disables(cls, value: object) -> object:
        return None if value in ("", None) else value

    def job_limits(self) -> JobLimits:
        """What the ingest job store keeps, from these settings."""
        return JobLimits(
            errors_kept=self.job_errors_kept,
            max_active=self.max_active_jobs,
            finished_kept=self.jobs_kept,
            retention_seconds=self.job_retention_hours * 3600,
        )

    def file_reader(self) -> FileReader:
        """The bounded reader of uploaded and ingested files these settings describe."""
        return FileReader(
            max_bytes=self.max_file_bytes,
            seconds=self.file_parse_seconds,
            memory_bytes=self.file_parse_memory_mb * 2**20,
            workers=self.file_workers,
        )

    def storage(self, location: str | Path | None = None) -> BackendConfig:
        """The backend at ``location`` (a data directory or a postgresql:// URL; by default
        the database URL if set, else the data directory), tuned by these settings: each kind
        of backend reads its own."""
        if location is None:
            url = self.database_url.get_secret_value() if self.database_url else None
            location = url or self.data_dir
        return backend_config(
            location,
            ivf_min_vectors=self.ivf_min_vectors,
            vector_save_changes=self.vector_save_changes,
            max_open_collections=self.max_open_collections,
            collection_idle_seconds=self.collection_idle_seconds,
            statement_timeout=self.database_statement_timeout,
            ef_search=self.database_ef_search,
            max_collections=self.max_collections,
            pool_size=self.database_pool_size,
        )

    def snapshots(self) -> SnapshotDirectory:
        """The snapshot directory these settings describe."""
        return SnapshotDirectory(self.snapshot_dir, self.snapshot_keep)

    def engine_config(self, storage: BackendConfig | None = None) -> EngineConfig:
        """The engine these settings describe, on ``storage`` (by default ``storage()``)."""
        return EngineConfig(
            storage=storage or self.storage(),
            chunk_tokens=self.chunk_tokens,
            chunk_overlap_tokens=self.chunk_overlap_tokens,
            model_precision=self.model_precision,
            min_support=self.min_support,
            min_contradiction=self.min_contradiction,
            model_cache_dir=self.model_cache_dir,
            max_query_chars=self.max_query_chars,
        )
