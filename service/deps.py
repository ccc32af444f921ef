"""Dependencies routes declare: the engine and settings, as typed Annotated aliases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request

from index.engine import SearchEngine
from service.errors import OverloadedError
from service.keys import KeyRing
from service.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class AppState:
    """What the lifespan opens once and every request shares."""

    settings: Settings
    engine: SearchEngine
    api_keys: KeyRing  # empty: no authentication
    # Searches and reads take up to max_concurrency threads; writes one (the engine runs one
    # writer at a time, so a second would only hold a thread while it waits); readiness and
    # metrics one of their own, so a busy server still answers its health checks.
    reads: CapacityLimiter = field(init=False)
    writes: CapacityLimiter = field(init=False)
    probes: CapacityLimiter = field(init=False)
    _pending: dict[str, int] = field(default_factory=lambda: {"read": 0, "write": 0})

    def __post_init__(self) -> None:
        self.reads = CapacityLimiter(self.settings.max_concurrency)
        self.writes = CapacityLimiter(1)
        self.probes = CapacityLimiter(1)

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read (search, support, get, list, stats) off the event loop; beyond
        max_concurrency running and max_queued waiting it is refused (429), not parked."""
        return await self._queued("read", self.reads, lambda: function(*args, **kwargs))

    async def run_write(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a write off the event loop, one at a time, at most max_queued waiting (429)."""
        return await self._queued("write", self.writes, lambda: function(*args, **kwargs))

    async def run_probe(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Readiness and metrics: never refused, never behind requests."""
        return await to_thread.run_sync(lambda: function(*args, **kwargs), limiter=self.probes)

    async def _queued(self, line: str, limiter: CapacityLimiter, call: Callable[[], T]) -> T:
        pending = self._pending[line]  # event loop only: no lock needed
        if pending >= limiter.total_tokens + self.settings.max_queued:
            raise OverloadedError(pending)
        self._pending[line] += 1
        try:
            return await to_thread.run_sync(call, limiter=limiter)
        finally:
            self._pending[line] -= 1


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.semsearch
    return state


def get_settings(request: Request) -> Settings:
    return get_state(request).settings


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
