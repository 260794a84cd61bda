"""The model catalogue: shipped as data, extended or overridden by the operator's file."""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.catalogue import service
from shared.catalogue.errors import CatalogueError
from shared.catalogue.schemas import PROVIDERS
from shared.config import Settings
from tests.factories import assert_error, assistant_body

ACME = {
    "id": "acme-large",
    "provider": "openai",
    "contextWindow": 64000,
    "maxOutputTokens": 2000,
    "supportsImages": False,
    "inputPricePerMillion": 1.5,
    "outputPricePerMillion": 3.0,
}

UseCatalogue = Callable[[Any], Path]


@pytest.fixture
def operator_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[UseCatalogue]:
    """Point MODEL_CATALOGUE_FILE at a file with the given models (or raw text) and reload."""

    def use(content: Any) -> Path:
        path = tmp_path / "models.json"
        text = content if isinstance(content, str) else json.dumps({"models": content})
        path.write_text(text)
        monkeypatch.setattr(service, "get_settings", lambda: Settings(model_catalogue_file=path))
        service.catalogue.cache_clear()
        return path

    yield use
    service.catalogue.cache_clear()  # the next caller reloads with the real settings


def test_builtin_catalogue_has_current_models_of_every_provider():
    models = service.catalogue()

    assert {m.provider for m in models.values()} == set(PROVIDERS)
    for model in models.values():
        assert model.context_window >= model.max_output_tokens > 0, model.id
    assert service.find_model("openai", "gpt-4o") is not None
    assert service.find_model("anthropic", "gpt-4o") is None


def test_model_catalogue_file_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MODEL_CATALOGUE_FILE", str(tmp_path / "models.json"))
    assert Settings().model_catalogue_file == tmp_path / "models.json"


def test_operator_file_adds_a_model_and_keeps_the_builtin_ones(operator_catalogue):
    builtin = dict(service.catalogue())
    operator_catalogue([ACME])

    models = service.catalogue()

    assert set(models) == set(builtin) | {"acme-large"}
    added = service.find_model("openai", "acme-large")
    assert added is not None
    assert (added.max_output_tokens, added.input_price_per_million) == (2000, 1.5)
    assert service.find_model("google", "acme-large") is None


def test_operator_file_overrides_a_builtin_model(operator_catalogue):
    operator_catalogue([{**ACME, "id": "gpt-4o", "maxOutputTokens": 1000}])

    model = service.find_model("openai", "gpt-4o")

    assert model is not None and model.max_output_tokens == 1000
    assert model.context_window == 64000


async def test_an_added_model_is_listed_and_usable_through_the_api(
    client, tenant, operator_catalogue
):
    operator_catalogue([ACME])

    listed = (await client.get("/api/models", headers=tenant.headers)).json()["data"]
    created = await client.post(
        "/api/assistants",
        json=assistant_body(llmModel="acme-large", maxTokens=2000),
        headers=tenant.headers,
    )
    too_many = await client.post(
        "/api/assistants",
        json=assistant_body(llmModel="acme-large", maxTokens=2001),
        headers=tenant.headers,
    )

    assert ACME in listed
    assert created.status_code == 201, created.text
    assert_error(too_many, 400, "VALIDATION_ERROR", field="maxTokens")


async def test_an_override_changes_what_the_api_accepts(client, tenant, operator_catalogue):
    operator_catalogue([{**ACME, "id": "gpt-4o", "maxOutputTokens": 1000}])

    response = await client.post(
        "/api/assistants", json=assistant_body(maxTokens=4096), headers=tenant.headers
    )

    error = assert_error(response, 400, "VALIDATION_ERROR", field="maxTokens")
    assert "1000" in error["message"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "Invalid JSON"),
        ("{}", "models"),
        ([{"id": "half-a-model", "provider": "openai"}], "models.0.contextWindow"),
        ([{**ACME, "maxOutputTokens": 0}], "models.0.maxOutputTokens"),
        ([{**ACME, "inputPricePerMillion": -1}], "models.0.inputPricePerMillion"),
        ([{**ACME, "provider": "mistral"}], "unknown providers ['mistral']"),
    ],
    ids=["not json", "no models", "missing fields", "zero output", "negative price", "provider"],
)
def test_an_invalid_operator_file_fails_with_a_message_naming_the_file_and_the_problem(
    operator_catalogue, content, problem
):
    path = operator_catalogue(content)

    with pytest.raises(CatalogueError) as raised:
        service.catalogue()

    assert str(path) in str(raised.value)
    assert problem in str(raised.value)


def test_a_missing_operator_file_fails_with_a_clear_message(operator_catalogue, tmp_path):
    path = operator_catalogue([ACME])
    path.unlink()

    with pytest.raises(CatalogueError, match="cannot read it"):
        service.catalogue()
