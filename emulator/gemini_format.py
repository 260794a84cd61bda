"""Google Gemini API wire format (``POST /{v1,v1beta}/models/{model}:generateContent``).

The google-genai SDK sends camelCase keys; snake_case is accepted too since the REST API does.
"""

from __future__ import annotations

from typing import Any

import orjson

from emulator.conversation import Conversation, Reply, split_for_stream
from emulator.provider import new_id, sse
from emulator.tokens import schema_chars, text_chars

_STATUSES: dict[int, str] = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_RESULT_KEYS = ("result", "output", "content")


def _get(d: dict[str, Any], camel: str, snake: str) -> Any:
    value = d.get(camel)
    return d.get(snake) if value is None else value


def _parts(content: Any) -> list[dict[str, Any]]:
    if not isinstance(content, dict):
        return []
    return [p for p in content.get("parts") or [] if isinstance(p, dict)]


def _function_response_text(response: Any) -> str:
    """``{"result": X}``-style wrappers unwrap to X; strings stay raw, the rest becomes JSON."""
    if isinstance(response, dict) and len(response) == 1:
        key = next(iter(response))
        if key in _RESULT_KEYS:
            response = response[key]
    if isinstance(response, str):
        return response
    return orjson.dumps(response).decode()


class GeminiFormat:
    """generateContent / streamGenerateContent parsing and rendering."""

    name = "gemini"
    request_id_header = "x-goog-request-id"

    def parse(self, body: dict[str, Any]) -> Conversation:
        """Every content is a turn; functionResponse parts in the last one are tool results."""
        contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
        images = 0
        last_user_text = ""
        for content in contents:
            if content.get("role", "user") != "user":
                continue
            parts = _parts(content)
            if any(_get(p, "functionResponse", "function_response") for p in parts):
                continue
            last_user_text = " ".join(p["text"] for p in parts if isinstance(p.get("text"), str))
            images += sum(
                1
                for p in parts
                if _get(p, "inlineData", "inline_data") or _get(p, "fileData", "file_data")
            )
        tool_results: list[str] | None = None
        if contents:
            responses = [
                r
                for r in (
                    _get(p, "functionResponse", "function_response") for p in _parts(contents[-1])
                )
                if isinstance(r, dict)
            ]
            if responses:
                tool_results = [_function_response_text(r.get("response")) for r in responses]
        tools = body.get("tools")
        system = _get(body, "systemInstruction", "system_instruction")
        return Conversation(
            turns=len(contents),
            last_user_text=last_user_text,
            tool_results=tool_results,
            has_tools=bool(tools),
            image_count=images,
            input_chars=text_chars(system) + text_chars(contents) + schema_chars(tools),
        )

    def max_tokens(self, body: dict[str, Any]) -> int | None:
        """``generationConfig.maxOutputTokens``."""
        config = _get(body, "generationConfig", "generation_config")
        if not isinstance(config, dict):
            return None
        return _get(config, "maxOutputTokens", "max_output_tokens")

    @staticmethod
    def _usage(reply: Reply) -> dict[str, int]:
        return {
            "promptTokenCount": reply.input_tokens,
            "candidatesTokenCount": reply.output_tokens,
            "totalTokenCount": reply.input_tokens + reply.output_tokens,
        }

    @staticmethod
    def _candidate(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        return candidate

    def render(self, reply: Reply, model: str) -> dict[str, Any]:
        """A ``GenerateContentResponse`` (Gemini reports STOP for function calls too)."""
        if reply.tool_calls:
            parts = [
                {"functionCall": {"name": c.name, "args": c.arguments}} for c in reply.tool_calls
            ]
        else:
            parts = [{"text": reply.text}]
        return {
            "candidates": [self._candidate(parts, "STOP")],
            "usageMetadata": self._usage(reply),
            "modelVersion": model,
            "responseId": new_id(""),
        }

    def stream(self, reply: Reply, model: str, body: dict[str, Any]) -> list[bytes]:
        """One response per text piece; the last carries finishReason and usageMetadata."""
        response_id = new_id("")
        if reply.tool_calls:
            groups = [
                [{"functionCall": {"name": c.name, "args": c.arguments}} for c in reply.tool_calls]
            ]
        else:
            groups = [[{"text": piece}] for piece in split_for_stream(reply.text)]
        out = []
        for i, parts in enumerate(groups):
            last = i == len(groups) - 1
            chunk: dict[str, Any] = {
                "candidates": [self._candidate(parts, "STOP" if last else None)],
                "modelVersion": model,
                "responseId": response_id,
            }
            if last:
                chunk["usageMetadata"] = self._usage(reply)
            out.append(sse(chunk))
        return out

    def error_body(self, status: int, message: str) -> dict[str, Any]:
        """``{"error": {"code", "message", "status"}}``."""
        kind = _STATUSES.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
        return {"error": {"code": status, "message": message, "status": kind}}


GEMINI = GeminiFormat()
