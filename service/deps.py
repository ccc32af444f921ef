"""Dependencies routes declare: the engine and settings, as typed Annotated aliases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, ParamSpec, TypeVar

from anyio import CapacityLimiter, to_thread
from fastapi import Depends, Request

from index.engine import SearchEngine
from service.errors import OverloadedError
from service.keys import Scope
from service.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class AppState:
    """What the lifespan opens once and every request shares."""

    settings: Settings
    engine: SearchEngine
    limiter: CapacityLimiter
    api_keys: dict[str, Scope]  # empty: no authentication

    pending: int = 0  # engine calls running or waiting for a slot (event loop only)

    async def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run CPU-bound engine work off the event loop, at most max_concurrency at once and
        at most max_queued waiting: beyond that the request is refused (429), not parked."""
        if self.pending >= self.settings.max_concurrency + self.settings.max_queued:
            raise OverloadedError(self.pending)
        self.pending += 1
        try:
            return await self.run_unqueued(function, *args, **kwargs)
        finally:
            self.pending -= 1

    async def run_unqueued(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Engine work that is never refused (readiness, metrics): it waits for a slot."""
        return await to_thread.run_sync(lambda: function(*args, **kwargs), limiter=self.limiter)


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.semsearch
    return state


def get_settings(request: Request) -> Settings:
    return get_state(request).settings


StateDep = Annotated[AppState, Depends(get_state)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
