"""How provider failures are read: retry-after headers, status classes, secrets in messages."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from workers.providers.base import classify_status, redact, retry_after_seconds


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers({name.replace("_", "-"): value for name, value in values.items()})


@pytest.mark.parametrize(
    ("given", "seconds"),
    [
        (headers(retry_after_ms="1500"), 1.5),
        (headers(retry_after_ms="250", retry_after="9"), 0.25),  # the precise one wins
        (headers(retry_after="2"), 2.0),
        (headers(retry_after="0.5"), 0.5),
        (headers(retry_after_ms="soon", retry_after="3"), 3.0),
        (headers(retry_after="0"), 0.0),
    ],
)
def test_retry_after_in_milliseconds_or_seconds(given, seconds):
    assert retry_after_seconds(given) == pytest.approx(seconds)


def test_retry_after_as_an_http_date_is_the_time_left_until_then():
    when = datetime.now(UTC) + timedelta(seconds=30)
    seconds = retry_after_seconds(headers(retry_after=format_datetime(when, usegmt=True)))
    assert seconds is not None and 28 <= seconds <= 30


def test_retry_after_as_a_past_http_date_is_zero():
    assert retry_after_seconds(headers(retry_after="Wed, 21 Oct 2015 07:28:00 GMT")) == 0.0


def test_retry_after_as_an_http_date_without_zone_is_read_as_utc():
    when = datetime.now(UTC) + timedelta(seconds=60)
    value = when.strftime("%a, %d %b %Y %H:%M:%S -0000")
    seconds = retry_after_seconds(headers(retry_after=value))
    assert seconds is not None and 57 <= seconds <= 60


@pytest.mark.parametrize(
    "given",
    [
        None,
        headers(),
        headers(retry_after="later"),
        headers(retry_after="-5"),
        headers(retry_after="inf"),
        headers(retry_after="nan"),
        headers(retry_after_ms="-1"),
        headers(retry_after_ms="1e400"),
    ],
    ids=["none", "absent", "garbage", "negative", "inf", "nan", "negative-ms", "overflow-ms"],
)
def test_missing_or_unusable_retry_after_is_none(given):
    assert retry_after_seconds(given) is None


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (429, "PROVIDER_RATE_LIMITED", True),
        (408, "PROVIDER_TIMEOUT", True),
        (500, "PROVIDER_UNAVAILABLE", True),
        (503, "PROVIDER_UNAVAILABLE", True),
        (529, "PROVIDER_UNAVAILABLE", True),
        (400, "PROVIDER_ERROR", False),
        (401, "PROVIDER_ERROR", False),
        (404, "PROVIDER_ERROR", False),
        (422, "PROVIDER_ERROR", False),
    ],
)
def test_status_classes(status, code, retryable):
    error = classify_status(status, "message", retry_after=1.0)
    assert (error.code, error.retryable, error.message) == (code, retryable, "message")
    assert error.retry_after == (1.0 if retryable else None)


@pytest.mark.parametrize(
    "secret",
    [
        "sk-abcdef123456",
        "sk-proj-AbC_dEf-123456789",
        "sk-ant-api03-abcdefghijkl",
        "AIzaSyA1234567890abcdefgh",
        "Bearer eyJhbGciOi.payload.sig",
        "bearer lowercase-token-123",
    ],
)
def test_keys_in_provider_messages_are_redacted(secret):
    message = redact(f"Incorrect API key provided: {secret} (see the docs)", [])
    assert message == "Incorrect API key provided: [redacted] (see the docs)"


def test_our_own_key_is_redacted_whatever_its_shape():
    assert (
        redact("key 'custom-key-42' is wrong", ["custom-key-42", None])
        == "key '[redacted]' is wrong"
    )


def test_redacted_messages_are_bounded_and_keep_what_is_harmless():
    assert redact("x" * 5_000, []) == "x" * 1_000
    assert redact("model 'gpt-4o' not found; task-abc fine", []) == (
        "model 'gpt-4o' not found; task-abc fine"
    )
