from shared.errors import AppError, Conflict, NotFound, ValidationFailed


class JobNotFound(NotFound):
    code = "JOB_NOT_FOUND"
    message = "Job not found"


class JobNotCancellable(Conflict):
    code = "JOB_NOT_CANCELLABLE"
    message = "Only a queued job can be cancelled"


class JobCancelled(Conflict):
    """What a synchronous execute answers when its job was cancelled while it waited."""

    code = "JOB_CANCELLED"
    message = "The job was cancelled before it ran"

    def __init__(self, job_id: str) -> None:
        super().__init__(details={"jobId": job_id})


class IdempotencyKeyReused(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message = "This Idempotency-Key was used with a different request body in the last 24 hours"


class UnsupportedAttachment(ValidationFailed):
    code = "UNSUPPORTED_ATTACHMENT"
    message = "Unsupported attachment"


class InvalidToolResult(ValidationFailed):
    code = "INVALID_TOOL_RESULT"
    message = "toolResults must answer the tool calls of the session's last reply"


class ProviderFailed(AppError):
    """A job that failed at the provider, rendered for a client who waited for it."""

    code = "PROVIDER_ERROR"
    status_code = 502
    message = "The provider failed"

    def __init__(self, code: str, message: str, job_id: str) -> None:
        super().__init__(message, details={"jobId": job_id})
        self.code = code  # type: ignore[misc]
        self.status_code = 504 if code == "PROVIDER_TIMEOUT" else 502  # type: ignore[misc]
