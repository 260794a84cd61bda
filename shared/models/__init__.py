"""All ORM models, imported together so that mappers and Alembic see every table."""

from shared.models.api_key import ApiKey
from shared.models.assistant import Assistant
from shared.models.company import Company
from shared.models.prompt_version import PromptVersion

__all__ = ["ApiKey", "Assistant", "Company", "PromptVersion"]
