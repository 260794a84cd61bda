"""Job-done notifications: the outcome travels inline when small, and the id alone otherwise."""

import orjson
import pytest

from shared.jobs.lifecycle import Outcome
from shared.notifications import INLINE_OUTCOME_MAX_BYTES, JobDone, decode, encode


def test_a_small_outcome_travels_with_its_job_id():
    outcome = Outcome(
        status="succeeded",
        response="Echo: hi",
        tool_calls=[{"id": "call_1", "name": "lookup", "arguments": {"order": 42}}],
        input_tokens=12,
        output_tokens=3,
        latency_ms=7,
    )
    assert decode(encode("job-1", outcome)) == JobDone("job-1", outcome)


def test_a_failure_travels_with_its_code_and_message():
    outcome = Outcome(status="failed", error_code="PROVIDER_TIMEOUT", error_message="took too long")
    assert decode(encode("job-2", outcome)) == JobDone("job-2", outcome)


def test_an_outcome_over_the_limit_leaves_only_the_id():
    outcome = Outcome(status="succeeded", response="x" * INLINE_OUTCOME_MAX_BYTES)
    message = encode("job-3", outcome)
    assert len(message) < 100
    assert decode(message) == JobDone("job-3", None)


def test_a_cancellation_and_a_bare_id_from_an_older_worker_carry_no_outcome():
    assert decode(encode("job-4")) == JobDone("job-4", None)
    assert decode(b"job-5") == JobDone("job-5", None)


@pytest.mark.parametrize(
    "data",
    [b"{not json", orjson.dumps({"outcome": None}), orjson.dumps({"id": "j", "outcome": {"x": 1}})],
)
def test_a_malformed_notification_is_refused(data):
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode(data)
