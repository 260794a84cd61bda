"""The real google-genai SDK against the emulator's generateContent endpoints."""

from __future__ import annotations

import pytest
from google import genai
from google.genai import errors, types

from emulator.testing import EmulatorProcess

MODEL = "gemini-2.5-flash"
WEATHER_TOOL = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Weather for a city",
            parameters=types.Schema(
                type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}
            ),
        )
    ]
)


def client(emu: EmulatorProcess, api_version: str | None = None) -> genai.Client:
    """A client; callers must keep it referenced (google-genai closes unreferenced clients,
    even while one of their streams is still being read)."""
    options = types.HttpOptions(base_url=emu.url, api_version=api_version)
    return genai.Client(api_key="gm-test-9012", http_options=options)


def user(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part.from_text(text=text)])


def test_plain_reply_and_usage(emu: EmulatorProcess) -> None:
    api = client(emu)
    response = api.models.generate_content(
        model=MODEL,
        contents=[
            user("hello"),
            types.Content(role="model", parts=[types.Part(text="hi")]),
            user("how are you?"),
        ],
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=99),
    )
    text = "Echo: how are you? [turns=3]"
    assert response.text == text
    assert response.candidates[0].finish_reason == types.FinishReason.STOP  # type: ignore[index]
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == 7
    assert usage.candidates_token_count == -(-len(text) // 4)
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count
    record = emu.requests(provider="gemini")[-1]
    assert record["model"] == MODEL
    assert record["path"] == f"/v1/models/{MODEL}:generateContent"
    assert record["maxTokens"] == 99
    assert record["apiKey"] == "9012"


def test_v1beta_and_streaming(emu: EmulatorProcess) -> None:
    api = client(emu, api_version="v1beta")
    chunks = list(api.models.generate_content_stream(model=MODEL, contents="stream me please"))
    assert len(chunks) > 1
    assert "".join(c.text or "" for c in chunks) == "Echo: stream me please [turns=1]"
    assert chunks[-1].usage_metadata is not None
    assert chunks[-1].usage_metadata.prompt_token_count == 4
    assert emu.requests(provider="gemini")[-1]["path"].startswith("/v1beta/models/")
    assert emu.requests(provider="gemini")[-1]["stream"] is True


def test_function_call_and_response_round_trip(emu: EmulatorProcess) -> None:
    api = client(emu)
    config = types.GenerateContentConfig(tools=[WEATHER_TOOL])
    contents = [user('Weather? [call:get_weather {"city": "Lima"}]')]
    first = api.models.generate_content(model=MODEL, contents=contents, config=config)
    assert first.function_calls is not None
    call = first.function_calls[0]
    assert call.name == "get_weather"
    assert call.args == {"city": "Lima"}

    contents.append(first.candidates[0].content)  # type: ignore[arg-type,index]
    contents.append(
        types.Content(
            role="user",
            parts=[
                types.Part.from_function_response(name="get_weather", response={"result": "fog"})
            ],
        )
    )
    second = api.models.generate_content(model=MODEL, contents=contents, config=config)
    assert second.text == "Tool result: fog [turns=3]"


def test_streamed_function_call(emu: EmulatorProcess) -> None:
    api = client(emu)
    chunks = list(
        api.models.generate_content_stream(
            model=MODEL,
            contents="[call:get_weather]",
            config=types.GenerateContentConfig(tools=[WEATHER_TOOL]),
        )
    )
    calls = [fc for c in chunks for fc in c.function_calls or []]
    assert [(fc.name, fc.args) for fc in calls] == [("get_weather", {})]


def test_images_are_counted(emu: EmulatorProcess) -> None:
    api = client(emu)
    response = api.models.generate_content(
        model=MODEL,
        contents=[
            types.Content(
                role="user",
                parts=[
                    types.Part.from_uri(
                        file_uri="https://example.com/a.png", mime_type="image/png"
                    ),
                    types.Part.from_bytes(data=b"\x89PNG fake", mime_type="image/png"),
                    types.Part.from_text(text="describe"),
                ],
            )
        ],
    )
    assert response.text == "Echo: describe [turns=1] [images=2]"


def test_rate_limit_fault(emu: EmulatorProcess) -> None:
    emu.fault(match="please-limit", status=429, retryAfter=5)
    api = client(emu)
    with pytest.raises(errors.ClientError) as caught:
        api.models.generate_content(model=MODEL, contents="please-limit")
    assert caught.value.code == 429
    assert caught.value.status == "RESOURCE_EXHAUSTED"


def test_server_error_fault(emu: EmulatorProcess) -> None:
    emu.fault(match="boom", status=503)
    api = client(emu)
    with pytest.raises(errors.ServerError) as caught:
        api.models.generate_content(model=MODEL, contents="boom")
    assert caught.value.code == 503
    assert caught.value.status == "UNAVAILABLE"
