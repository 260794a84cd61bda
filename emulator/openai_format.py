"""OpenAI Chat Completions wire format (``POST /v1/chat/completions``)."""

from __future__ import annotations

from typing import Any

import orjson

from emulator.conversation import Conversation, Reply, split_for_stream
from emulator.provider import joined_text, new_id, now, sse
from emulator.tokens import schema_chars, text_chars

_ERROR_TYPES: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout", None),
    409: ("conflict", None),
    429: ("requests", "rate_limit_exceeded"),
}
_SYSTEM_ROLES = frozenset({"system", "developer"})
_TOOL_ROLES = frozenset({"tool", "function"})


class OpenAIFormat:
    """Chat Completions parsing and rendering."""

    name = "openai"
    request_id_header = "x-request-id"

    def parse(self, body: dict[str, Any]) -> Conversation:
        """Count non-system turns, find the last user text, trailing tool results and images."""
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        turns = 0
        images = 0
        last_user_text = ""
        for message in messages:
            role = message.get("role")
            if role in _SYSTEM_ROLES:
                continue
            turns += 1
            if role == "user":
                content = message.get("content")
                last_user_text = joined_text(content)
                if isinstance(content, list):
                    images += sum(
                        1 for p in content if isinstance(p, dict) and p.get("type") == "image_url"
                    )
        tool_results: list[str] = []
        for message in reversed(messages):
            if message.get("role") not in _TOOL_ROLES:
                break
            tool_results.append(joined_text(message.get("content")))
        tools = body.get("tools") or body.get("functions")
        return Conversation(
            turns=turns,
            last_user_text=last_user_text,
            tool_results=tool_results[::-1] if tool_results else None,
            has_tools=bool(tools),
            image_count=images,
            input_chars=text_chars(messages) + schema_chars(tools),
        )

    def max_tokens(self, body: dict[str, Any]) -> int | None:
        """``max_completion_tokens`` (current) or ``max_tokens`` (legacy)."""
        return body.get("max_completion_tokens") or body.get("max_tokens")

    @staticmethod
    def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
        return [
            {
                "id": new_id("call_"),
                "type": "function",
                "function": {"name": c.name, "arguments": orjson.dumps(c.arguments).decode()},
            }
            for c in reply.tool_calls
        ]

    @staticmethod
    def _usage(reply: Reply) -> dict[str, int]:
        return {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        }

    def render(self, reply: Reply, model: str) -> dict[str, Any]:
        """A ``chat.completion`` object."""
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = self._tool_calls(reply)
        else:
            message["content"] = reply.text
        return {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": now(),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                }
            ],
            "usage": self._usage(reply),
            "system_fingerprint": "fp_emulator",
        }

    def stream(self, reply: Reply, model: str, body: dict[str, Any]) -> list[bytes]:
        """``chat.completion.chunk`` events, a usage-only chunk if asked, then ``[DONE]``."""
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        base: dict[str, Any] = {
            "id": new_id("chatcmpl-"),
            "object": "chat.completion.chunk",
            "created": now(),
            "model": model,
            "system_fingerprint": "fp_emulator",
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            data = {
                **base,
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                data["usage"] = None
            return sse(data)

        out = [chunk({"role": "assistant", "content": "", "refusal": None})]
        if reply.tool_calls:
            for index, call in enumerate(self._tool_calls(reply)):
                function = call["function"]
                head = {**call, "index": index, "function": {"name": function["name"]}}
                head["function"]["arguments"] = ""
                out.append(chunk({"tool_calls": [head]}))
                arguments = {"arguments": function["arguments"]}
                out.append(chunk({"tool_calls": [{"index": index, "function": arguments}]}))
        else:
            out.extend(chunk({"content": piece}) for piece in split_for_stream(reply.text))
        out.append(chunk({}, "tool_calls" if reply.tool_calls else "stop"))
        if include_usage:
            out.append(sse({**base, "choices": [], "usage": self._usage(reply)}))
        out.append(b"data: [DONE]\n\n")
        return out

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """``{"error": {"message", "type", "param", "code"}}``."""
        kind, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "error", None))
        return {"error": {"message": message, "type": kind, "param": None, "code": code}}


OPENAI = OpenAIFormat()
