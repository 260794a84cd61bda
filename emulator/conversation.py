"""Provider-neutral summary of a request and the emulator's deterministic reply to it.

Each ``*_format`` module reduces its wire format to a :class:`Conversation`; :func:`build_reply`
decides what to answer. Keeping the decision in one place guarantees the three providers behave
identically, which is what lets worker tests be written once for all of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from emulator.tokens import estimate_tokens

_CALL_MARKER = re.compile(r"\[call:([A-Za-z0-9_.\-]+)")
_JSON_DECODER = json.JSONDecoder()


@dataclass(slots=True)
class Conversation:
    """What the emulator needs to know about a request, whatever the provider."""

    turns: int
    last_user_text: str
    tool_results: list[str] | None
    has_tools: bool
    image_count: int
    input_chars: int


@dataclass(slots=True)
class ToolCall:
    """A function call the emulated model asks the client to perform."""

    name: str
    arguments: dict[str, Any]


@dataclass(slots=True)
class Reply:
    """The emulated model's answer: either text or one or more tool calls."""

    text: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    input_tokens: int = 1
    output_tokens: int = 1


def parse_call_markers(text: str) -> list[ToolCall]:
    """Find ``[call:NAME]`` / ``[call:NAME {json}]`` markers; invalid or non-object args become {}."""
    calls: list[ToolCall] = []
    for match in _CALL_MARKER.finditer(text):
        args: dict[str, Any] = {}
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos < len(text) and text[pos] == "{":
            try:
                value, _ = _JSON_DECODER.raw_decode(text, pos)
            except ValueError:
                value = {}
            if isinstance(value, dict):
                args = value
        calls.append(ToolCall(name=match.group(1), arguments=args))
    return calls


def build_reply(conv: Conversation) -> Reply:
    """Decide the deterministic answer.

    Order: a trailing tool result wins, then ``[call:...]`` markers (only if tools were declared),
    otherwise an echo. Text replies end with `` [turns=N]`` and, when user messages carried
    images, `` [images=K]`` so tests can see history and attachments were sent.
    """
    input_tokens = estimate_tokens(conv.input_chars)
    if conv.tool_results is None and conv.has_tools:
        calls = parse_call_markers(conv.last_user_text)
        if calls:
            out_chars = sum(len(c.name) + len(orjson.dumps(c.arguments)) for c in calls)
            return Reply("", calls, input_tokens, estimate_tokens(out_chars))
    if conv.tool_results is not None:
        text = "Tool result: " + "\n".join(conv.tool_results)
    else:
        text = "Echo: " + conv.last_user_text
    text += f" [turns={conv.turns}]"
    if conv.image_count:
        text += f" [images={conv.image_count}]"
    return Reply(text, [], input_tokens, estimate_tokens(len(text)))


def split_for_stream(text: str) -> list[str]:
    """Split text into word-sized pieces (keeping whitespace) so streams have several deltas."""
    pieces = re.findall(r"\S+\s*|\s+", text)
    return pieces or [""]
