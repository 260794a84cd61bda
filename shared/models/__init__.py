"""All ORM models, imported together so that mappers and Alembic see every table."""

from shared.models.api_key import ApiKey
from shared.models.assistant import Assistant
from shared.models.assistant_count import AssistantCount, AssistantTouches
from shared.models.batch import Batch
from shared.models.company import Company
from shared.models.job import Job
from shared.models.prompt_version import PromptVersion
from shared.models.session import Session, SessionMessage
from shared.models.usage_record import UsageRecord

__all__ = [
    "ApiKey",
    "Assistant",
    "AssistantCount",
    "AssistantTouches",
    "Batch",
    "Company",
    "Job",
    "PromptVersion",
    "Session",
    "SessionMessage",
    "UsageRecord",
]
