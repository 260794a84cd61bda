"""The base of every domain error: each carries its spec code and HTTP status.

The API renders any `AppError` in the spec's envelope `{"error": {"code", "message", ...}}`;
workers store the code and message on the failed job.
"""

from typing import Any, ClassVar


class AppError(Exception):
    code: ClassVar[str] = "INTERNAL_ERROR"
    status_code: ClassVar[int] = 500
    message: ClassVar[str] = "Internal error"

    def __init__(self, message: str | None = None, details: Any = None) -> None:
        self.detail_message = message or self.message
        self.details = details
        super().__init__(self.detail_message)

    def to_body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.detail_message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class ValidationFailed(AppError):
    code = "VALIDATION_ERROR"
    status_code = 400
    message = "The request is invalid"


class Unauthorized(AppError):
    code = "UNAUTHORIZED"
    status_code = 401
    message = "A valid API key is required: send 'Authorization: Bearer <apiKey>'"


class NotFound(AppError):
    code = "NOT_FOUND"
    status_code = 404
    message = "Not found"


class Conflict(AppError):
    code = "CONFLICT"
    status_code = 409
    message = "Conflict"


class PayloadTooLarge(AppError):
    code = "PAYLOAD_TOO_LARGE"
    status_code = 413
    message = "The request body is too large"
