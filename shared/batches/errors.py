from shared.errors import NotFound, PayloadTooLarge, ValidationFailed


class BatchNotFound(NotFound):
    code = "BATCH_NOT_FOUND"
    message = "Batch not found"


class BatchTooLarge(PayloadTooLarge):
    code = "BATCH_TOO_LARGE"
    message = "The batch is over the size limits"


class NoValidItems(ValidationFailed):
    code = "INVALID_BATCH"
    message = "The batch holds no valid item"
