"""Batch items, the batch resource and result lines."""

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from shared.jobs.schemas import MAX_INPUT_CHARS, Attachment, JobError, JobResult, SessionId
from shared.schemas import CamelModel, PageMeta, StrictInput, Timestamp

CustomId = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class BatchItem(StrictInput):
    custom_id: CustomId
    user_input: Annotated[str, StringConstraints(min_length=1, max_length=MAX_INPUT_CHARS)]
    session_id: SessionId | None = None
    attachments: Annotated[list[Attachment], Field(max_length=10)] = Field(default_factory=list)


class BatchCreateDoc(StrictInput):
    """For the OpenAPI document only: the handler validates items one by one."""

    items: list[BatchItem] = Field(max_length=50_000)


class InvalidItem(CamelModel):
    index: int
    custom_id: str | None
    errors: list[dict[str, Any]]


class BatchCounts(CamelModel):
    queued: int = 0
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0


class BatchOut(CamelModel):
    id: str
    assistant_id: str
    status: str  # running | completed | cancelling | cancelled
    total_items: int
    invalid_items: list[InvalidItem]
    counts: BatchCounts
    progress: float
    created_at: Timestamp
    cancelled_at: Timestamp | None


class BatchList(CamelModel):
    data: list[BatchOut]
    meta: PageMeta


class ResultLine(CamelModel):
    custom_id: str | None
    job_id: str
    status: str
    result: JobResult | None
    error: JobError | None
