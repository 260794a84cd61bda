from shared.errors import Conflict, NotFound


class PromptVersionNotFound(NotFound):
    code = "PROMPT_VERSION_NOT_FOUND"
    message = "This assistant has no such prompt version"


class PromptAlreadyCurrent(Conflict):
    code = "PROMPT_ALREADY_CURRENT"
    message = "The assistant already uses this prompt; a rollback would change nothing"
