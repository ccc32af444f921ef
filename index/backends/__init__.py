"""Storage backends behind the engine: base.py is the seam, records.py what crosses it in a
write, and each backend is a package holding all it needs (store, indexes, locks, job storage,
migrations) with a configuration object of its own kind. The choice between them is made here
and nowhere else."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from index.backends.base import StorageBackend
from index.backends.embedded.config import EmbeddedConfig
from index.backends.postgres import urls
from index.backends.postgres.config import PostgresConfig

BackendConfig = EmbeddedConfig | PostgresConfig
_KINDS: tuple[type[EmbeddedConfig] | type[PostgresConfig], ...] = (EmbeddedConfig, PostgresConfig)


def is_database_url(location: str | Path) -> bool:
    """Whether ``location`` names a database (scheme://...) rather than a data directory."""
    return isinstance(location, str) and "://" in location


def shown(location: str | Path) -> str:
    """``location`` as it may be shown in logs and errors (a database's password hidden)."""
    return urls.redacted(str(location)) if is_database_url(location) else str(location)


def backend_config(location: str | Path, **tuning: Any) -> BackendConfig:
    """The backend at ``location``: PostgreSQL for a postgresql:// URL, else the embedded
    store in that data directory. Each kind takes the ``tuning`` fields it has and ignores
    the other's, so one set of settings configures either.

    Raises:
        ValueError: a URL of another scheme, or a tuning field neither kind has.
    """
    unknown = set(tuning) - {f.name for kind in _KINDS for f in fields(kind)}
    if unknown:
        raise ValueError(f"no backend is configured by {', '.join(sorted(unknown))}")
    if is_database_url(location):
        kind: type[EmbeddedConfig] | type[PostgresConfig] = PostgresConfig
        where: dict[str, Any] = {"url": urls.check(str(location))}
    else:
        kind, where = EmbeddedConfig, {"data_dir": Path(location)}
    own = {f.name for f in fields(kind)}
    return kind(**where, **{name: value for name, value in tuning.items() if name in own})


def open_backend(config: BackendConfig, dimension: int) -> StorageBackend:
    """Open (creating or migrating as needed) the backend ``config`` describes, for vectors of
    ``dimension``."""
    return config.open(dimension)
