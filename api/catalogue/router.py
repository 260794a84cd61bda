from fastapi import APIRouter

from api.dependencies import CurrentPrincipal
from api.errors import error_responses
from shared.catalogue.schemas import ModelList
from shared.catalogue.service import catalogue
from shared.errors import Unauthorized

router = APIRouter(prefix="/api/models", tags=["models"])


@router.get("", response_model=ModelList, responses=error_responses(Unauthorized))
async def list_models(_: CurrentPrincipal) -> ModelList:
    """The supported models: provider, context window, maximum output, images, prices per million tokens."""
    return ModelList(data=sorted(catalogue().values(), key=lambda m: (m.provider, m.id)))
