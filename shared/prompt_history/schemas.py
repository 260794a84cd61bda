"""Request and response bodies of the prompt-history endpoints."""

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from shared.assistants.schemas import Assistant
from shared.schemas import CamelModel, Id, PageMeta, StrictInput, Timestamp

PREVIEW_CHARS = 200
Source = Literal["create", "update", "rollback"]


class _VersionBase(CamelModel):
    version: int
    source: Source
    restored_from: int | None = Field(description="For a rollback: the version it restored.")
    change_note: str | None
    created_by: Id | None = Field(description="The id of the API key that made the change.")
    created_at: Timestamp
    llm_provider: str = Field(description="The provider in force when the version was recorded.")
    llm_model: str
    max_tokens: int | None
    prompt_length: int = Field(description="Length of the prompt in characters.")
    is_current: bool


class PromptVersionSummary(_VersionBase):
    preview: str | None = Field(description=f"The first {PREVIEW_CHARS} characters of the prompt.")


class PromptVersionDetail(_VersionBase):
    prompt: str | None


class PromptVersionList(CamelModel):
    data: list[PromptVersionSummary]
    meta: PageMeta


class DiffLine(CamelModel):
    type: Literal["context", "added", "removed"]
    text: str


class DiffHunk(CamelModel):
    """One `@@ -oldStart,oldLines +newStart,newLines @@` block of the unified diff."""

    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    lines: list[DiffLine]


class DiffSummary(CamelModel):
    lines_added: int
    lines_removed: int
    characters_changed: int = Field(description="Characters deleted plus characters inserted.")
    similarity: float = Field(ge=0, le=1, description="difflib ratio 2*M/T over the two texts.")


class PromptComparison(CamelModel):
    v1: int
    v2: int
    unified_diff: str = Field(description="`diff -u` style text, from v1 to v2; empty if equal.")
    hunks: list[DiffHunk]
    summary: DiffSummary


class RollbackRequest(StrictInput):
    change_note: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        None, description="Why the prompt is rolled back; kept in the prompt history."
    )


class RollbackResult(CamelModel):
    assistant: Assistant
    version: int = Field(description="The new version that now holds the restored prompt.")


class VersionStatistics(CamelModel):
    """Executions that ran with one version. Averages cover succeeded executions only."""

    version: int
    executions: int = Field(description="Finished jobs (succeeded or failed) with this version.")
    succeeded: int
    failed: int
    success_rate: float | None = Field(description="succeeded / executions; null without any.")
    average_input_tokens: float | None
    average_output_tokens: float | None
    total_cost: float = Field(description="USD, from the model catalogue's prices.")
    average_latency_ms: float | None = Field(description="Provider call latency.")
    p95_latency_ms: float | None
    last_used_at: Timestamp | None = Field(description="When the latest execution finished.")


class PromptStatistics(CamelModel):
    total_versions: int
    current_version: int
    first_change_at: Timestamp | None
    last_change_at: Timestamp | None
    changes_per_week: float = Field(
        description="Versions after the first, per week since the first (at least one week)."
    )
    rollbacks: int
    average_prompt_length: float
    versions: list[VersionStatistics] = Field(description="Newest version first.")
