"""What keeps test runs apart and leaves nothing behind (tests/conftest.py)."""

import subprocess
import sys
import tempfile
from pathlib import Path

from shared.config import get_settings
from tests import conftest, processes


def test_the_run_has_its_own_database_redis_prefix_and_temporary_folder() -> None:
    settings = get_settings()
    assert settings.database_url.endswith(f"/assistants_test_{conftest.RUN_ID}")
    assert settings.redis_key_prefix == f"assistants-test-{conftest.RUN_ID}"
    run_tmp = Path(conftest.RUN_TMP)
    assert run_tmp.is_dir() and conftest.RUN_ID in run_tmp.name


def test_temporary_files_of_the_tests_and_their_processes_land_in_the_runs_folder() -> None:
    run_tmp = Path(conftest.RUN_TMP)
    log = processes.worker("isolation").log_path  # a real process's log, before it starts
    assert log.parent == run_tmp
    child = subprocess.run(
        [sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(child.stdout.strip()) == run_tmp
    assert Path(tempfile.gettempdir()) == run_tmp
    log.unlink()
