"""Building the provider request: history trimmed to the context window, tool exchanges kept whole."""

from typing import Any

from shared.jobs.lifecycle import Claim
from shared.models import Job, SessionMessage
from workers.jobs.conversation import CHARS_PER_TOKEN, build_request, estimate_tokens, trim
from workers.providers.base import Turn

CALL = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
RESULT = {"toolCallId": "call_1", "output": "18C", "name": "get_weather"}


def user(text: str) -> Turn:
    return Turn(role="user", text=text)


def reply(text: str) -> Turn:
    return Turn(role="assistant", text=text)


def words(n: int) -> str:
    """Text of about `n` tokens by the estimate."""
    return "x" * (n * CHARS_PER_TOKEN)


def test_history_that_fits_is_sent_whole():
    turns = [user("a"), reply("b"), user("c")]
    assert trim(turns, budget=1_000) == turns


def test_oldest_turns_go_first_and_the_rest_starts_with_a_user_turn():
    old_q, old_a = user(words(100)), reply(words(100))
    recent_q, recent_a, new = user(words(10)), reply(words(10)), user("now")
    kept = trim([old_q, old_a, recent_q, recent_a, new], budget=60)
    assert kept == [recent_q, recent_a, new]
    assert sum(map(estimate_tokens, kept)) <= 60


def test_a_new_turn_too_long_on_its_own_is_still_sent_alone():
    new = user(words(500))
    assert trim([user("a"), reply("b"), new], budget=100) == [new]


def test_a_tool_result_is_never_sent_without_the_call_it_answers():
    question = user(words(5))
    call = Turn(role="assistant", tool_calls=[CALL])
    answer = Turn(role="user", tool_results=[RESULT])
    older = [user(words(200)), reply(words(200))]
    kept = trim([*older, question, call, answer], budget=50)
    assert kept == [question, call, answer]


def test_the_exchange_of_the_new_tool_result_stays_even_over_budget():
    question = user(words(100))
    call = Turn(role="assistant", tool_calls=[CALL])
    answer = Turn(role="user", tool_results=[RESULT])
    assert trim([user("old"), reply("old"), question, call, answer], budget=10) == [
        question,
        call,
        answer,
    ]


def test_a_finished_tool_exchange_is_dropped_as_a_whole():
    exchange = [
        user(words(50)),
        Turn(role="assistant", tool_calls=[CALL]),
        Turn(role="user", tool_results=[RESULT]),
        reply(words(50)),
    ]
    new = user("next question")
    assert trim([*exchange, new], budget=20) == [new]


def _claim(
    model: str, max_tokens: int, history: list[tuple[str, dict[str, Any]]], **input_: Any
) -> Claim:
    job = Job(provider="openai", model=model, max_tokens=max_tokens, input=input_)
    messages = [SessionMessage(role=role, content=content) for role, content in history]
    return Claim(job=job, token="t", system_prompt="Be brief.", tools=[], history=messages)


def test_build_request_trims_history_to_the_models_context_window():
    # gpt-3.5-turbo: a 16,385-token window; 16,000 reserved for the answer leaves ~380 for input.
    history = []
    for i in range(10):
        history += [
            ("user", {"text": f"q{i} " + words(50)}),
            ("assistant", {"text": f"a{i} " + words(50)}),
        ]
    request = build_request(_claim("gpt-3.5-turbo", 16_000, history, userInput="latest"), images=[])
    texts = [turn.text or "" for turn in request.turns]
    assert texts[-1] == "latest"
    assert texts[0].startswith("q") and texts[-2].startswith("a9")
    assert 3 <= len(texts) < 21  # some history kept, the oldest dropped
    assert not any(text.startswith("q0 ") for text in texts)
    assert sum(map(estimate_tokens, request.turns)) <= 16_385 - 16_000
    assert request.max_tokens == 16_000 and request.system == "Be brief."


def test_build_request_sends_the_whole_history_when_it_fits():
    history = [("user", {"text": "q0"}), ("assistant", {"text": "a0"})]
    request = build_request(_claim("gpt-4o", 1_000, history, userInput="q1"), images=[])
    assert [(t.role, t.text) for t in request.turns] == [
        ("user", "q0"),
        ("assistant", "a0"),
        ("user", "q1"),
    ]


def test_build_request_names_tool_results_after_the_calls_they_answer():
    history = [("user", {"text": "weather?"}), ("assistant", {"text": "", "toolCalls": [CALL]})]
    claim = _claim(
        "gpt-4o", 1_000, history, toolResults=[{"toolCallId": "call_1", "output": "18C"}]
    )
    request = build_request(claim, images=[])
    assert request.turns[-1].tool_results == [RESULT]
    assert request.turns[-2].tool_calls == [CALL]


def test_build_request_keys_every_attempt_with_the_jobs_id():
    claim = _claim("gpt-4o", 1_000, [], userInput="q")
    claim.job.id = "job_01"
    assert build_request(claim, images=[]).idempotency_key == "job_01"
