"""Reading provider replies from their wire format (the adapters skip the SDKs' models)."""

import pytest

from workers.providers import anthropic_adapter, openai_adapter
from workers.providers.base import ProviderCallError

_reply = openai_adapter._reply


def completion(message, usage=None):  # type: ignore[no-untyped-def]
    return {"choices": [{"index": 0, "message": message}], "usage": usage}


def test_openai_text_tool_calls_and_usage_are_read():
    reply = _reply(
        completion(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "lookup", "arguments": '{"order": 7}'},
                    },
                    {"id": "x", "type": "custom", "custom": {}},
                ],
            },
            {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
        )
    )

    assert reply.text == ""
    assert reply.tool_calls == [{"id": "call_1", "name": "lookup", "arguments": {"order": 7}}]
    assert (reply.input_tokens, reply.output_tokens) == (12, 5)


def test_a_completion_without_usage_counts_no_tokens():
    reply = _reply(completion({"role": "assistant", "content": "hi"}))

    assert (reply.text, reply.input_tokens, reply.output_tokens) == ("hi", 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"choices": []},
        {"choices": [{"index": 0}]},
        {"choices": [{"message": {"tool_calls": [{"type": "function"}]}}]},
        {"choices": [{"message": {"content": "x"}}], "usage": {"prompt_tokens": "many"}},
        "not an object",
        None,
    ],
)
def test_a_malformed_openai_completion_fails_the_call_without_retries(body):
    with pytest.raises(ProviderCallError) as failure:
        _reply(body)

    assert failure.value.code == "PROVIDER_ERROR" and not failure.value.retryable


def test_anthropic_text_blocks_tool_uses_and_usage_are_read():
    reply = anthropic_adapter._reply(
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look. "},
                {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"order": 7}},
                {"type": "text", "text": "Done."},
            ],
            "usage": {"input_tokens": 30, "output_tokens": 9},
        }
    )

    assert reply.text == "Let me look. Done."
    assert reply.tool_calls == [{"id": "toolu_1", "name": "lookup", "arguments": {"order": 7}}]
    assert (reply.input_tokens, reply.output_tokens) == (30, 9)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content": [{"type": "text", "text": "x"}]},
        {"content": [{"text": "x"}], "usage": {"input_tokens": 1, "output_tokens": 1}},
        {"content": [{"type": "tool_use", "id": "t"}], "usage": {"input_tokens": 1}},
        {"content": [], "usage": {"input_tokens": None, "output_tokens": 1}},
        None,
    ],
)
def test_a_malformed_anthropic_message_fails_the_call_without_retries(body):
    with pytest.raises(ProviderCallError) as failure:
        anthropic_adapter._reply(body)

    assert failure.value.code == "PROVIDER_ERROR" and not failure.value.retryable
