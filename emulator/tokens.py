"""Deterministic token estimates.

Real tokenizers differ per provider and are not available offline; tests and benchmarks only need
counts that are plausible (about four characters per token) and reproducible.
"""

from __future__ import annotations

from typing import Any

import orjson

# Keys whose string values are structure or binary payloads rather than prompt text.
NON_TEXT_KEYS: frozenset[str] = frozenset(
    {
        "role",
        "type",
        "id",
        "tool_call_id",
        "tool_use_id",
        "url",
        "detail",
        "data",
        "media_type",
        "mime_type",
        "mimeType",
        "file_uri",
        "fileUri",
        "cache_control",
        "signature",
    }
)


def estimate_tokens(chars: int) -> int:
    """Return ceil(chars / 4), at least 1: the usual rule of thumb for English text."""
    return max(1, -(-chars // 4))


def text_chars(value: Any) -> int:
    """Sum the lengths of all prompt-text strings inside a JSON value.

    Walks dicts and lists, skipping ``NON_TEXT_KEYS`` so roles, ids, URLs and base64 image data do
    not inflate the count.
    """
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(text_chars(v) for k, v in value.items() if k not in NON_TEXT_KEYS)
    if isinstance(value, list):
        return sum(text_chars(v) for v in value)
    return 0


def schema_chars(tools: Any) -> int:
    """Length of the compact JSON of a tools declaration (schemas are billed as prompt text)."""
    return len(orjson.dumps(tools)) if tools else 0
