"""Fixtures that run the provider emulator in a subprocess, exactly as workers will use it.

Self-contained on purpose: nothing here depends on tests/conftest.py (which needs Postgres).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator.testing import EmulatorProcess


@pytest.fixture(scope="package")
def emulator_server() -> Iterator[EmulatorProcess]:
    """One emulator subprocess for the whole tests/emulator package."""
    with EmulatorProcess() as server:
        yield server


@pytest.fixture
def emu(emulator_server: EmulatorProcess) -> EmulatorProcess:
    """The shared emulator, reset (records, faults, latency) before each test."""
    emulator_server.reset()
    return emulator_server
