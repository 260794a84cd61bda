"""Batches: submit many items at once (JSON or a JSONL file), follow progress, stream results."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.datastructures import UploadFile

from api.dependencies import CurrentPrincipal, SessionDep, StateDep
from api.errors import error_responses
from api.jobs.router import request_dispatch
from api.monitoring.metrics import record_jobs_accepted
from shared.assistants.errors import AssistantNotFound
from shared.batches import repository, service
from shared.batches.errors import BatchNotFound, BatchTooLarge, NoValidItems
from shared.batches.schemas import BatchList, BatchOut, ResultLine
from shared.db import unit_of_work
from shared.errors import Unauthorized, ValidationFailed
from shared.jobs.service import to_out as job_out
from shared.limits.errors import RateLimited
from shared.schemas import PageMeta

router = APIRouter(tags=["batches"])
RESULT_PAGE = 1000
JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")

_CREATE_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/BatchCreateDoc"}},
            "application/x-ndjson": {
                "schema": {"type": "string", "description": "One item per line"}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "JSONL, one item per line",
                        }
                    },
                    "required": ["file"],
                }
            },
        },
    }
}


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BatchTooLarge(f"The body is over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BatchTooLarge(f"The body is over {limit} bytes")
    return bytes(body)


def _jsonl(data: bytes) -> list[Any]:
    items: list[Any] = []
    for line in data.splitlines():
        if line.strip():
            try:
                items.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                items.append({"_invalidJson": line[:100].decode(errors="replace")})
    return items


async def _items(request: Request, limit: int) -> list[Any]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise BatchTooLarge(f"The body is over {limit} bytes")
        form = await request.form(max_files=1, max_fields=10, max_part_size=limit)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ValidationFailed("Upload the JSONL as the form field 'file'")
        return _jsonl(await upload.read())
    data = await _read_capped(request, limit)
    if content_type in JSONL_TYPES:
        return _jsonl(data)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed("The body is not valid JSON") from exc
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ValidationFailed('The body must be {"items": [...]}', details=[{"field": "items"}])
    return document["items"]


@router.post(
    "/api/assistants/{assistant_id}/batches",
    status_code=202,
    response_model=BatchOut,
    openapi_extra=_CREATE_DOC,
    responses=error_responses(
        Unauthorized, AssistantNotFound, NoValidItems, BatchTooLarge, RateLimited
    ),
    tags=["assistants"],
)
async def create_batch(
    assistant_id: str, request: Request, principal: CurrentPrincipal, state: StateDep
) -> JSONResponse:
    """Submit up to 50,000 items (`customId`, `userInput`, optional `sessionId`, `attachments`).

    Send `{"items": [...]}` as JSON, or JSONL as the body (`application/x-ndjson`) or as the
    file field `file` of a multipart form. Invalid items are listed in `invalidItems` with their
    `customId` and do not stop the valid ones. Answers 202; follow `Location`.
    """
    items = await _items(request, state.settings.batch_max_body_bytes)
    async with unit_of_work(state.sessionmaker) as session:
        batch = await service.create(
            session, principal.company_id, assistant_id, items, state.settings
        )
        out = service.to_out(batch, {"queued": batch.total_items})
    record_jobs_accepted("batch", batch.total_items)
    await request_dispatch(state)
    return JSONResponse(
        out.model_dump(mode="json", by_alias=True),
        status_code=202,
        headers={"Location": f"/api/batches/{batch.id}"},
    )


@router.get("/api/batches", response_model=BatchList, responses=error_responses(Unauthorized))
async def list_batches(
    principal: CurrentPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> BatchList:
    """The company's batches, newest first, with their counts."""
    rows, total = await repository.list_page(
        session, principal.company_id, (page - 1) * limit, limit
    )
    counts = await repository.counts(session, [row.id for row in rows])
    return BatchList(
        data=[service.to_out(row, counts[row.id]) for row in rows],
        meta=PageMeta(page=page, limit=limit, total=total),
    )


@router.get(
    "/api/batches/{batch_id}",
    response_model=BatchOut,
    responses=error_responses(Unauthorized, BatchNotFound),
)
async def get_batch(batch_id: str, principal: CurrentPrincipal, session: SessionDep) -> BatchOut:
    """Status, counts per job status, and progress (finished / total)."""
    return await service.describe(
        session, await service.get(session, principal.company_id, batch_id)
    )


@router.get(
    "/api/batches/{batch_id}/results",
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "One JSON object per finished item",
        },
        **error_responses(Unauthorized, BatchNotFound),
    },
)
async def batch_results(
    batch_id: str, principal: CurrentPrincipal, state: StateDep
) -> StreamingResponse:
    """Results of the finished items as JSONL, each with its `customId`; works while the batch runs."""
    async with state.sessionmaker() as session:
        await service.get(session, principal.company_id, batch_id)

    async def lines() -> AsyncIterator[bytes]:
        after = ""
        while True:
            async with (
                state.sessionmaker() as session
            ):  # a short read per page; no connection held between
                page = await repository.finished_after(session, batch_id, after, RESULT_PAGE)
            if not page:
                return
            chunk = bytearray()
            for job in page:
                out = job_out(job)
                line = ResultLine(
                    custom_id=job.custom_id,
                    job_id=job.id,
                    status=out.status,
                    result=out.result,
                    error=out.error,
                )
                chunk += orjson.dumps(line.model_dump(mode="json", by_alias=True)) + b"\n"
            yield bytes(chunk)
            after = page[-1].id

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post(
    "/api/batches/{batch_id}/cancel",
    response_model=BatchOut,
    responses=error_responses(Unauthorized, BatchNotFound),
)
async def cancel_batch(batch_id: str, principal: CurrentPrincipal, state: StateDep) -> BatchOut:
    """Cancel every item that has not started; running items finish."""
    async with unit_of_work(state.sessionmaker) as session:
        batch, cancelled = await service.cancel(session, principal.company_id, batch_id)
    for job_id, dispatched in cancelled:
        if dispatched:  # it held a concurrency slot it will never use
            await state.limiter.settle(principal.company_id, job_id, 0)
    async with state.sessionmaker() as session:
        return await service.describe(session, batch)
