"""Bodies of execute, jobs and their results."""

from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, model_validator

from shared.schemas import CamelModel, PageMeta, StrictInput, Timestamp

SessionId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,100}$")]
MAX_INPUT_CHARS = 100_000


class Attachment(StrictInput):
    type: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    mime_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)]


class ToolResult(StrictInput):
    tool_call_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    output: Annotated[str, StringConstraints(max_length=MAX_INPUT_CHARS)]


class ExecuteRequest(StrictInput):
    user_input: Annotated[str, StringConstraints(max_length=MAX_INPUT_CHARS)] | None = None
    session_id: SessionId | None = None
    attachments: Annotated[list[Attachment], Field(max_length=10)] = Field(default_factory=list)
    tool_results: Annotated[list[ToolResult], Field(max_length=32)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_say(self) -> "ExecuteRequest":
        if not (self.user_input and self.user_input.strip()) and not self.tool_results:
            raise ValueError("userInput is required (unless the request carries toolResults)")
        if self.tool_results and not self.session_id:
            raise ValueError(
                "toolResults need the sessionId of the conversation that asked for them"
            )
        return self


class Usage(CamelModel):
    input_tokens: int
    output_tokens: int
    total_tokens: int


class ToolCall(CamelModel):
    id: str
    name: str
    arguments: dict[str, Any]


class ExecuteResponse(CamelModel):
    """The spec's execute response, plus the id of the job that produced it."""

    response: str
    session_id: str | None
    usage: Usage
    tool_calls: list[ToolCall]
    job_id: str


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    cancelled = "cancelled"


TERMINAL = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.cancelled})


class JobError(CamelModel):
    code: str
    message: str


class JobResult(CamelModel):
    response: str
    session_id: str | None
    usage: Usage
    tool_calls: list[ToolCall]


class JobOut(CamelModel):
    id: str
    assistant_id: str
    session_id: str | None
    batch_id: str | None = None
    custom_id: str | None = None
    kind: str
    status: JobStatus
    attempts: int
    prompt_version: int
    provider: str
    model: str
    created_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    result: JobResult | None
    error: JobError | None


class JobList(CamelModel):
    data: list[JobOut]
    meta: PageMeta
