"""Database URLs: as SQLAlchemy names the driver, and as they may be shown (password hidden)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SCHEMES = frozenset({"postgresql", "postgres", "postgresql+psycopg"})
HIDDEN = "***"


def check(url: str) -> str:
    """``url`` itself if it is a postgresql:// URL; ValueError otherwise."""
    scheme, separator, _ = url.partition("://")
    if not separator or scheme not in SCHEMES:
        raise ValueError("the database URL must start with postgresql://")
    return url


def sqlalchemy_url(url: str) -> str:
    """A postgresql:// URL as SQLAlchemy names the psycopg 3 driver."""
    return "postgresql+psycopg://" + check(url).partition("://")[2]


def redacted(url: str) -> str:
    """``url`` with its password (in the authority or as a query parameter) replaced by ***.

    For logs, errors and /v1/stats: a URL that cannot be parsed is hidden whole.
    """
    try:
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        user = parts.username
    except ValueError:
        return HIDDEN
    authority = host
    if user is not None:
        authority = f"{user}:{HIDDEN}@{host}" if parts.password is not None else f"{user}@{host}"
    query = urlencode(
        [(k, HIDDEN if k == "password" else v) for k, v in parse_qsl(parts.query)], safe="*"
    )
    return urlunsplit((parts.scheme, authority, parts.path, query, parts.fragment))
