"""The model catalogue: which models each provider offers, their limits and prices.

Shipped as data (`data/models.json`); an operator adds or overrides entries with the file named by
`MODEL_CATALOGUE_FILE`, without a code change. Loaded once per process.
"""

import json
from functools import lru_cache
from pathlib import Path

from shared.catalogue.schemas import PROVIDERS, ModelInfo
from shared.config import get_settings

_BUILTIN = Path(__file__).parent / "data" / "models.json"


def _read(path: Path) -> list[ModelInfo]:
    raw = json.loads(path.read_text())
    models = [ModelInfo.model_validate(item) for item in raw["models"]]
    unknown = {m.provider for m in models} - set(PROVIDERS)
    if unknown:
        raise ValueError(f"{path}: unknown providers {sorted(unknown)}")
    return models


@lru_cache
def catalogue() -> dict[str, ModelInfo]:
    models = {m.id: m for m in _read(_BUILTIN)}
    extra = get_settings().model_catalogue_file
    if extra:
        models.update({m.id: m for m in _read(Path(extra))})
    return models


def find_model(provider: str, model_id: str) -> ModelInfo | None:
    model = catalogue().get(model_id)
    return model if model and model.provider == provider else None
