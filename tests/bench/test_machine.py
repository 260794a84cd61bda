"""The page's description of the machine's caches (bench/report.py), from a sysfs tree."""

from pathlib import Path

from bench.report import caches


def _index(root: Path, n: int, level: int, kind: str, size: str, shared: str) -> None:
    index = root / f"index{n}"
    index.mkdir(parents=True)
    for name, value in (("level", level), ("type", kind), ("size", size)):
        (index / name).write_text(f"{value}\n")
    (index / "shared_cpu_list").write_text(f"{shared}\n")


def test_each_cache_is_named_sized_and_says_which_cores_share_it(tmp_path: Path) -> None:
    _index(tmp_path, 0, 1, "Data", "48K", "0")
    _index(tmp_path, 1, 1, "Instruction", "64K", "0")
    _index(tmp_path, 2, 2, "Unified", "2048K", "0")
    _index(tmp_path, 3, 3, "Unified", "491520K", "0-1")
    assert caches(tmp_path) == (
        "L1d 48 KiB (cores 0), L1i 64 KiB (cores 0), L2 2 MiB (cores 0), L3 480 MiB (cores 0-1)"
    )


def test_a_kernel_without_the_tree_says_so(tmp_path: Path) -> None:
    assert caches(tmp_path / "missing") == "not shown by this kernel"
