"""Anthropic Messages wire format (``POST /v1/messages``)."""

from __future__ import annotations

from typing import Any

import orjson

from emulator.conversation import Conversation, Reply, split_for_stream
from emulator.provider import joined_text, new_id, sse
from emulator.tokens import schema_chars, text_chars

_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def _tool_result_text(block: dict[str, Any]) -> str:
    """A ``tool_result`` block's content: a string or a list of text blocks."""
    return joined_text(block.get("content"))


class AnthropicFormat:
    """Messages API parsing and rendering."""

    name = "anthropic"
    request_id_header = "request-id"

    def parse(self, body: dict[str, Any]) -> Conversation:
        """Every message is a turn (system is a separate field); tool results are user blocks."""
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        images = 0
        last_user_text = ""
        for message in messages:
            if message.get("role") != "user":
                continue
            content = message.get("content")
            last_user_text = joined_text(content)
            if isinstance(content, list):
                images += sum(
                    1 for b in content if isinstance(b, dict) and b.get("type") == "image"
                )
        tool_results: list[str] | None = None
        if messages and messages[-1].get("role") == "user":
            content = messages[-1].get("content")
            if isinstance(content, list):
                blocks = [
                    b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"
                ]
                if blocks:
                    tool_results = [_tool_result_text(b) for b in blocks]
        tools = body.get("tools")
        return Conversation(
            turns=len(messages),
            last_user_text=last_user_text,
            tool_results=tool_results,
            has_tools=bool(tools),
            image_count=images,
            input_chars=text_chars(body.get("system")) + text_chars(messages) + schema_chars(tools),
        )

    def max_tokens(self, body: dict[str, Any]) -> int | None:
        """``max_tokens`` (required by the real API, recorded only here)."""
        return body.get("max_tokens")

    @staticmethod
    def _content(reply: Reply) -> list[dict[str, Any]]:
        if reply.tool_calls:
            return [
                {"type": "tool_use", "id": new_id("toolu_"), "name": c.name, "input": c.arguments}
                for c in reply.tool_calls
            ]
        return [{"type": "text", "text": reply.text}]

    @staticmethod
    def _usage(reply: Reply, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": reply.input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        }

    def render(self, reply: Reply, model: str) -> dict[str, Any]:
        """A ``message`` object."""
        return {
            "id": new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": self._content(reply),
            "stop_reason": "tool_use" if reply.tool_calls else "end_turn",
            "stop_sequence": None,
            "usage": self._usage(reply, reply.output_tokens),
        }

    def stream(self, reply: Reply, model: str, body: dict[str, Any]) -> list[bytes]:
        """message_start, per-block start/delta/stop, message_delta (usage), message_stop."""
        start = {
            "id": new_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._usage(reply, 1),
        }
        out = [sse({"type": "message_start", "message": start}, "message_start")]
        for index, block in enumerate(self._content(reply)):
            if block["type"] == "tool_use":
                opened = {**block, "input": {}}
                deltas = [{"type": "input_json_delta", "partial_json": ""}]
                deltas.append(
                    {
                        "type": "input_json_delta",
                        "partial_json": orjson.dumps(block["input"]).decode(),
                    }
                )
            else:
                opened = {"type": "text", "text": ""}
                deltas = [
                    {"type": "text_delta", "text": piece}
                    for piece in split_for_stream(block["text"])
                ]
            out.append(
                sse(
                    {"type": "content_block_start", "index": index, "content_block": opened},
                    "content_block_start",
                )
            )
            out.extend(
                sse(
                    {"type": "content_block_delta", "index": index, "delta": d},
                    "content_block_delta",
                )
                for d in deltas
            )
            out.append(sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
        stop_reason = "tool_use" if reply.tool_calls else "end_turn"
        out.append(
            sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                    "usage": {"output_tokens": reply.output_tokens},
                },
                "message_delta",
            )
        )
        out.append(sse({"type": "message_stop"}, "message_stop"))
        return out

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """``{"type": "error", "error": {"type", "message"}}``."""
        kind = _ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        return {"type": "error", "error": {"type": kind, "message": message}}


ANTHROPIC = AnthropicFormat()
