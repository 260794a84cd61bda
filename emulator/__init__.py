"""Provider emulator: a local HTTP server speaking the OpenAI, Anthropic and Gemini wire formats.

Workers and tests point the *real* provider SDKs at it through their base URLs, so the code path
under test is exactly the production one, minus the network bill and the nondeterminism.
Use ``python -m emulator`` or :func:`emulator.app.create_app`.
"""

BANNER = "PROVIDER EMULATOR: responses are emulated, no real provider is called"

__all__ = ["BANNER"]
