from sqlalchemy.ext.asyncio import AsyncSession

from shared.models import Assistant, PromptVersion


async def add_version(
    session: AsyncSession,
    assistant: Assistant,
    *,
    source: str,
    key_id: str | None,
    change_note: str | None = None,
    restored_from: int | None = None,
) -> PromptVersion:
    """Append the assistant's current prompt as version `assistant.prompt_version`.

    The caller holds the assistant row locked (or just created it), so version numbers never race.
    """
    version = PromptVersion(
        company_id=assistant.company_id,
        assistant_id=assistant.id,
        version=assistant.prompt_version,
        prompt=assistant.llm_prompt,
        llm_provider=assistant.llm_provider,
        llm_model=assistant.llm_model,
        max_tokens=assistant.max_tokens,
        source=source,
        restored_from=restored_from,
        change_note=change_note,
        created_by_key_id=key_id,
    )
    session.add(version)
    await session.flush()
    return version
