from shared.errors import AppError, NotFound, ValidationFailed


class AssistantNotFound(NotFound):
    code = "ASSISTANT_NOT_FOUND"
    message = "Assistant not found"


class InvalidProvider(ValidationFailed):
    code = "INVALID_PROVIDER"
    message = "Unsupported provider: use one of openai, anthropic, google"


class InvalidModel(ValidationFailed):
    code = "INVALID_MODEL"
    message = "Unsupported model for this provider"


__all__ = ["AppError", "AssistantNotFound", "InvalidModel", "InvalidProvider"]
