"""Request and response bodies of the assistants endpoints, to the letter of the spec."""

import json
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from shared.catalogue.schemas import PROVIDERS
from shared.schemas import CamelModel, Id, PageMeta, StrictInput, Timestamp, storable

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]
Prompt = Annotated[str, StringConstraints(max_length=100_000)]
ModelId = Annotated[str, StringConstraints(max_length=100)]
# Any (bounded) string is accepted so that an unknown provider or model gets the spec's
# INVALID_PROVIDER / INVALID_MODEL, not a generic validation error; the documented schema still
# lists the supported providers.
Provider = Annotated[
    str,
    StringConstraints(max_length=50),
    WithJsonSchema({"type": "string", "enum": list(PROVIDERS)}),
]
Language = Annotated[str, StringConstraints(min_length=1, max_length=35)]
Voice = Annotated[str, StringConstraints(min_length=1, max_length=50)]
TeamId = Annotated[str, StringConstraints(min_length=1, max_length=100), AfterValidator(storable)]
TeamIds = Annotated[list[TeamId], Field(max_length=50)]
# Strict: JSON `true` must not become 1 token.
MaxTokens = Annotated[int, Field(strict=True, ge=1, le=10_000_000)]
ToolName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MAX_TOOL_SCHEMA_CHARS = 16_000


class Tool(StrictInput):
    """A function the model may call; `parameters` is a JSON Schema object."""

    name: ToolName
    description: Annotated[str, StringConstraints(max_length=1024)] = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})

    @field_validator("parameters")
    @classmethod
    def _bounded_object_schema(cls, value: dict[str, Any]) -> dict[str, Any]:

        if value.get("type", "object") != "object":
            raise ValueError("parameters must be a JSON Schema of type 'object'")
        if len(json.dumps(value)) > MAX_TOOL_SCHEMA_CHARS:
            raise ValueError(
                f"parameters must be at most {MAX_TOOL_SCHEMA_CHARS} characters of JSON"
            )
        return value


Tools = Annotated[list[Tool], Field(max_length=32)]


class AssistantCreate(StrictInput):
    name: Name
    llm_provider: Provider
    llm_model: ModelId
    description: Description | None = None
    llm_prompt: Prompt | None = None
    max_tokens: MaxTokens | None = None
    language: Language | None = None
    voice: Voice | None = None
    team_ids: TeamIds = Field(default_factory=list)
    tools: Tools = Field(default_factory=list)


def _not_nullable(schema: dict[str, Any]) -> None:
    """Document a field that may be left out but not sent as `null`."""
    (variant,) = [v for v in schema.pop("anyOf") if v.get("type") != "null"]
    schema.update(variant)


class AssistantUpdate(StrictInput):
    """Only the fields sent change; `null` clears an optional field."""

    name: Name | None = Field(None, json_schema_extra=_not_nullable)
    llm_provider: Provider | None = Field(None, json_schema_extra=_not_nullable)
    llm_model: ModelId | None = Field(None, json_schema_extra=_not_nullable)
    description: Description | None = None
    llm_prompt: Prompt | None = None
    max_tokens: MaxTokens | None = None
    language: Language | None = None
    voice: Voice | None = None
    team_ids: TeamIds | None = None
    tools: Tools | None = None
    change_note: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        None, description="Why the prompt changed; kept in the prompt history."
    )

    @field_validator("name", "llm_provider", "llm_model")
    @classmethod
    def _required_fields_stay_set(cls, value: str | None) -> str:
        # Runs only for fields that were sent: leaving one out keeps it, `null` cannot clear it.
        if value is None:
            raise ValueError("cannot be null; leave the field out to keep its value")
        return value


class AssistantListItem(CamelModel):
    id: Id
    name: str
    description: str | None
    llm_provider: str
    llm_model: str
    max_tokens: int | None
    language: str | None
    team_ids: list[str]
    last_accessed_at: Timestamp | None
    created_at: Timestamp


class Assistant(CamelModel):
    id: Id
    name: str
    description: str | None
    llm_provider: str
    llm_model: str
    llm_prompt: str | None
    max_tokens: int | None
    language: str | None
    voice: str | None
    team_ids: list[str]
    tools: list[dict[str, Any]]
    company_id: Id
    last_accessed_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp


class AssistantList(CamelModel):
    data: list[AssistantListItem]
    meta: PageMeta


class SortBy(StrEnum):
    created_at = "createdAt"
    name = "name"
    last_used = "lastUsed"


class SortOrder(StrEnum):
    asc = "asc"
    desc = "desc"


class ListQuery(BaseModel):
    """The list endpoint's query string (`api.query.parse_query`). Unknown parameters are
    ignored, as FastAPI's declared parameters ignored them."""

    model_config = ConfigDict(extra="ignore", title="ListQuery")

    page: int = Field(1, ge=1, le=1_000_000)
    limit: int = Field(20, ge=1, le=100)
    team_id: TeamId | None = Field(None, alias="teamId")
    sort_by: SortBy = Field(SortBy.created_at, alias="sortBy")
    order: SortOrder | None = None


class Deleted(CamelModel):
    success: bool = True
    message: str = "Assistant deleted"
