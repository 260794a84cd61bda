from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

PROVIDERS = ("openai", "anthropic", "google")


class ModelInfo(BaseModel):
    """One supported model, as the catalogue file and `GET /api/models` spell it."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)

    id: str = Field(min_length=1, max_length=100)
    provider: str
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    supports_images: bool
    input_price_per_million: float = Field(ge=0)
    output_price_per_million: float = Field(ge=0)

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_price_per_million
            + output_tokens * self.output_price_per_million
        ) / 1_000_000


class ModelList(BaseModel):
    data: list[ModelInfo]
