import asyncio
import contextlib
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import text

from api.dependencies import StateDep
from shared.schemas import CamelModel

router = APIRouter(tags=["health"])


class Readiness(CamelModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    queues: dict[str, int] = Field(
        default_factory=dict, description="Messages waiting per queue (empty when Redis is down)"
    )
    workers_alive: bool | None = Field(
        None, description="A worker answered a ping (cached ~5 s); null when it cannot be asked"
    )


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up (liveness)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "PostgreSQL or Redis does not answer"}},
)
async def readyz(state: StateDep) -> JSONResponse:
    """PostgreSQL and Redis answer (readiness); 503 when either does not.

    Also reports the queue backlog and whether any worker is alive. No live worker does not make
    the API unready: it still accepts jobs, which wait in the queues until a worker comes back.
    """
    checks: dict[str, str] = {}

    async def database() -> None:
        async with state.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def redis() -> None:
        await state.redis.ping()

    for name, check in (("database", database), ("redis", redis)):
        try:
            await asyncio.wait_for(check(), timeout=2)
            checks[name] = "ok"
        except Exception as exc:  # any failure means not ready; the reason is for operators
            checks[name] = f"error: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    body = Readiness(status="ok" if ready else "unavailable", checks=checks)
    if checks["redis"] == "ok":
        with contextlib.suppress(Exception):  # the backlog is information, not a check
            body.queues = await asyncio.wait_for(state.backlog.depths(state), timeout=2)
        body.workers_alive = await state.backlog.workers_alive(state)
    return JSONResponse(body.model_dump(by_alias=True), 200 if ready else 503)
