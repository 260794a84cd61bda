"""Which provider adapters this worker process uses, from the settings.

A provider without an API key is emulated (pointed at the local emulator) in development and
test; in production it is left out, and its jobs fail with PROVIDER_NOT_CONFIGURED, unless
ALLOW_EMULATED_PROVIDERS says otherwise.
"""

from shared.config import Settings
from workers.providers.anthropic_adapter import AnthropicProvider
from workers.providers.base import Provider
from workers.providers.google_adapter import GoogleProvider
from workers.providers.openai_adapter import OpenAIProvider


def emulator_url(settings: Settings) -> str:
    return f"http://{settings.emulator_host}:{settings.emulator_port}"


def emulation_allowed(settings: Settings) -> bool:
    return settings.allow_emulated_providers or settings.environment != "production"


def emulated_providers(settings: Settings) -> list[str]:
    keys = {
        "openai": settings.openai_api_key,
        "anthropic": settings.anthropic_api_key,
        "google": settings.google_api_key,
    }
    return [name for name, key in keys.items() if not key] if emulation_allowed(settings) else []


def build_providers(settings: Settings) -> dict[str, Provider]:
    emulated = emulated_providers(settings)
    fake = emulator_url(settings)
    timeout = settings.provider_timeout_seconds
    specs = {
        "openai": (OpenAIProvider, settings.openai_api_key, settings.openai_base_url, f"{fake}/v1"),
        "anthropic": (
            AnthropicProvider,
            settings.anthropic_api_key,
            settings.anthropic_base_url,
            fake,
        ),
        "google": (GoogleProvider, settings.google_api_key, settings.google_gemini_base_url, fake),
    }
    providers: dict[str, Provider] = {}
    for name, (cls, key, base_url, fake_url) in specs.items():
        if key:
            providers[name] = cls(key, base_url, timeout)
        elif name in emulated:
            providers[name] = cls("emulated", base_url or fake_url, timeout)
    return providers
