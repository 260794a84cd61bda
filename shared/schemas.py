"""Pieces every domain's pydantic schemas share: camelCase JSON, UTC timestamps, page metadata."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel


def iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


Timestamp = Annotated[datetime, PlainSerializer(iso_utc, return_type=str)]


class CamelModel(BaseModel):
    """Outgoing shape: camelCase keys, built from ORM objects or dicts."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class StrictInput(BaseModel):
    """Incoming shape: camelCase keys only, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid")


class PageMeta(CamelModel):
    page: int
    limit: int
    total: int


class ErrorBody(BaseModel):
    code: str = Field(examples=["ASSISTANT_NOT_FOUND"])
    message: str
    details: Any | None = None


class ErrorResponse(BaseModel):
    """The envelope of every error response."""

    error: ErrorBody


class Pagination(BaseModel):
    page: int = Field(1, ge=1, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit
