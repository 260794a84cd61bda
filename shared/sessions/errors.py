from shared.errors import Conflict, NotFound


class SessionNotFound(NotFound):
    code = "SESSION_NOT_FOUND"
    message = "Session not found"


class SessionConflict(Conflict):
    code = "SESSION_CONFLICT"
    message = "This sessionId is in use by another assistant; choose another id or omit it"
