from enum import StrEnum

from pydantic import Field

from shared.schemas import CamelModel, Timestamp


class GroupBy(StrEnum):
    day = "day"
    assistant = "assistant"
    model = "model"


class UsageBucket(CamelModel):
    key: str
    requests: int
    succeeded: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float


class UsageMeta(CamelModel):
    from_: Timestamp = Field(alias="from")
    to: Timestamp
    group_by: GroupBy


class UsageReport(CamelModel):
    data: list[UsageBucket]
    meta: UsageMeta
