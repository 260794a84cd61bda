from typing import Any

from shared.schemas import CamelModel, PageMeta, Timestamp


class SessionSummary(CamelModel):
    id: str
    assistant_id: str
    message_count: int
    created_at: Timestamp
    updated_at: Timestamp


class SessionMessageOut(CamelModel):
    position: int
    role: str
    content: dict[str, Any]
    job_id: str | None
    created_at: Timestamp


class SessionDetail(SessionSummary):
    messages: list[SessionMessageOut]


class SessionList(CamelModel):
    data: list[SessionSummary]
    meta: PageMeta


class SessionDeleted(CamelModel):
    success: bool = True
    message: str = "Session deleted"
