"""Pieces every domain's pydantic schemas share: camelCase JSON, UTC timestamps, page metadata."""

import math
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator
from pydantic.alias_generators import to_camel


def iso_utc(value: datetime) -> str:
    """`2025-01-15T10:30:00.123Z` (truncated milliseconds). isoformat, not strftime: half the
    time, on every job the API answers."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


Timestamp = Annotated[
    datetime,
    PlainSerializer(iso_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "examples": ["2025-01-15T10:30:00Z"]}),
]
# Documented, not re-checked: ids come from `shared.ids.new_id`.
Id = Annotated[
    str,
    WithJsonSchema(
        {"type": "string", "pattern": "^[0-9a-f]{24}$", "examples": ["681b41850f470a9a746f280e"]}
    ),
]


def storable(value: Any) -> Any:
    """Refuse what PostgreSQL cannot store, at any depth: NUL characters and non-finite numbers.

    Without this, a U+0000 in a name or a `NaN` in a tool schema would reach the database and
    come back as a 500 (or, for NaN, be silently stored as null).
    """
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL (\\u0000) characters")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite")
    elif isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            storable(item)
    elif isinstance(value, list | tuple):
        for item in value:
            storable(item)
    return value


class CamelModel(BaseModel):
    """Outgoing shape: camelCase keys, built from ORM objects or dicts."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, from_attributes=True)


class StrictInput(BaseModel):
    """Incoming shape: camelCase keys only, unknown fields refused."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid")

    @field_validator("*")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return storable(value)


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
