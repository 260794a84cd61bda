"""Baselines (a) and (b): the HTTP ceiling and the naive admission path, run by uvicorn alone.

- `POST /bare`: validate a small body, answer 202.
- `POST /naive`: the same, plus one row INSERT (SQLAlchemy Core, pool 10) and one Celery
  `send_task` called straight from the handler (the naive insert-and-send_task path).
Reads DATABASE_URL, REDIS_URL and REDIS_KEY_PREFIX like the service; its table and queue are its own.
"""

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from celery import Celery
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Column, DateTime, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import create_async_engine

PREFIX = os.environ["REDIS_KEY_PREFIX"]
NAIVE_QUEUE = f"{PREFIX}.bench-naive"

metadata = MetaData()
rows = Table(
    "bench_naive_jobs",
    metadata,
    Column("id", String(24), primary_key=True),
    Column("input", JSONB),
    Column("created_at", DateTime(timezone=True), server_default=func.now()),
)


class Body(BaseModel):
    user_input: str = Field(alias="userInput", min_length=1, max_length=100_000)
    session_id: str | None = Field(default=None, alias="sessionId", max_length=100)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    engine = create_async_engine(os.environ["DATABASE_URL"], pool_size=10)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    celery = Celery("bench-naive", broker=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    celery.conf.update(
        task_ignore_result=True,
        broker_transport_options={"global_keyprefix": f"{PREFIX}:naive:"},
    )
    app.state.engine, app.state.celery = engine, celery
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


@app.post("/bare", status_code=202)
async def bare(body: Body) -> JSONResponse:
    return JSONResponse({"accepted": True}, status_code=202)


@app.post("/naive", status_code=202)
async def naive(body: Body) -> JSONResponse:
    job_id = secrets.token_hex(12)
    async with app.state.engine.begin() as connection:
        await connection.execute(rows.insert().values(id=job_id, input=body.model_dump()))
    app.state.celery.send_task("bench.naive", args=[job_id], queue=NAIVE_QUEUE)
    return JSONResponse({"id": job_id}, status_code=202)
