"""The model catalogue: which models each provider offers, their limits and prices.

Shipped as data (`data/models.json`); an operator adds or overrides entries with the file named by
`MODEL_CATALOGUE_FILE`, without a code change. Loaded once per process.
"""

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ValidationError

from shared.catalogue.errors import CatalogueError
from shared.catalogue.schemas import PROVIDERS, ModelInfo
from shared.config import get_settings

_BUILTIN = Path(__file__).parent / "data" / "models.json"


class _CatalogueFile(BaseModel):
    models: list[ModelInfo]


def _read(path: Path) -> list[ModelInfo]:
    try:
        models = _CatalogueFile.model_validate_json(path.read_bytes()).models
    except OSError as exc:
        raise CatalogueError(f"model catalogue {path}: cannot read it ({exc.strerror})") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise CatalogueError(f"model catalogue {path}: {problems}") from exc
    unknown = {m.provider for m in models} - set(PROVIDERS)
    if unknown:
        raise CatalogueError(
            f"model catalogue {path}: unknown providers {sorted(unknown)}; "
            f"use {', '.join(PROVIDERS)}"
        )
    return models


@lru_cache
def catalogue() -> dict[str, ModelInfo]:
    """The built-in models, then the operator's file (same shape; an entry with the same id
    replaces the built-in one). Raises CatalogueError for a file it cannot use."""
    models = {m.id: m for m in _read(_BUILTIN)}
    extra = get_settings().model_catalogue_file
    if extra:
        models.update({m.id: m for m in _read(Path(extra))})
    return models


def find_model(provider: str, model_id: str) -> ModelInfo | None:
    model = catalogue().get(model_id)
    return model if model and model.provider == provider else None
