"""From a claimed job to a provider request: system prompt, trimmed history, the new turn."""

from typing import Any

from shared.catalogue.service import find_model
from shared.jobs.lifecycle import Claim
from workers.providers.base import ProviderRequest, Turn

# Rough but safe: about four characters a token, and a fixed allowance per image.
CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1_000
DEFAULT_MAX_TOKENS = 4_096


def estimate_tokens(turn: Turn) -> int:
    chars = len(turn.text or "")
    chars += sum(len(str(call["arguments"])) + len(call["name"]) for call in turn.tool_calls)
    chars += sum(len(result["output"]) for result in turn.tool_results)
    return chars // CHARS_PER_TOKEN + 4 + IMAGE_TOKENS * len(turn.images)


def _names_by_call_id(history: list[Turn]) -> dict[str, str]:
    return {call["id"]: call["name"] for turn in history for call in turn.tool_calls}


def _history_turn(role: str, content: dict[str, Any]) -> Turn:
    # Earlier turns go back as text, tool calls and tool results; images only with the new turn.
    return Turn(
        role=role,
        text=content.get("text"),
        tool_calls=content.get("toolCalls") or [],
        tool_results=content.get("toolResults") or [],
    )


def _plain_user(turn: Turn) -> bool:
    return turn.role == "user" and not turn.tool_results


def _exchanges(turns: list[Turn]) -> list[list[Turn]]:
    """Split before each plain user turn: an exchange holds a question, the model's tool calls,
    their results and the answers, which providers only accept together."""
    groups: list[list[Turn]] = []
    for turn in turns:
        if not groups or _plain_user(turn):
            groups.append([turn])
        else:
            groups[-1].append(turn)
    return groups


def trim(turns: list[Turn], budget: int) -> list[Turn]:
    """Drop the oldest exchanges until the rest fits in `budget` tokens.

    Whole exchanges go, so the result starts with a plain user turn and a tool call never loses
    its result; the last exchange (the new turn's) always stays, even when it alone is too long.
    """
    groups = _exchanges(turns)
    sizes = [sum(map(estimate_tokens, group)) for group in groups]
    start, total = 0, sum(sizes)
    while start < len(groups) - 1 and (total > budget or not _plain_user(groups[start][0])):
        total -= sizes[start]
        start += 1
    return [turn for group in groups[start:] for turn in group]


def build_request(claim: Claim, images: list[dict[str, Any]]) -> ProviderRequest:
    job = claim.job
    model = find_model(job.provider, job.model)
    max_tokens = job.max_tokens or min(
        model.max_output_tokens if model else DEFAULT_MAX_TOKENS, DEFAULT_MAX_TOKENS
    )
    history = [_history_turn(message.role, message.content) for message in claim.history]
    names = _names_by_call_id(history)
    results = [
        {"toolCallId": r["toolCallId"], "output": r["output"], "name": names.get(r["toolCallId"])}
        for r in job.input.get("toolResults") or []
    ]
    current = Turn(
        role="user", text=job.input.get("userInput"), images=images, tool_results=results
    )
    system_tokens = len(claim.system_prompt or "") // CHARS_PER_TOKEN
    budget = (model.context_window if model else 8_192) - max_tokens - system_tokens
    return ProviderRequest(
        model=job.model,
        system=claim.system_prompt,
        turns=trim([*history, current], budget),
        max_tokens=max_tokens,
        tools=claim.tools,
        idempotency_key=job.id,
    )
