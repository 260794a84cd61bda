"""Figures (median [min-max] of the runs, a same-run baseline, a ratio, a target) and the Markdown."""

import math
import platform
import statistics
import subprocess
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path


def fmt(value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def spread(values: list[float]) -> str:
    clean = [v for v in values if not math.isnan(v)]
    if not clean:
        return "n/a"
    return f"{fmt(statistics.median(clean))} [{fmt(min(clean))}-{fmt(max(clean))}]"


def median(values: list[float]) -> float:
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else float("nan")


@dataclass
class Figure:
    target_no: str  # "1", "2a", "B" for a baseline
    title: str
    unit: str
    values: list[float]
    baseline_title: str = ""
    baseline: list[float] = field(default_factory=list)
    target: str = ""
    met: bool | None = None
    ratio: float | None = None  # defaults to median(values) / median(baseline)
    note: str = ""

    def ratio_value(self) -> float:
        if self.ratio is not None:
            return self.ratio
        if not self.baseline:
            return float("nan")
        base = median(self.baseline)
        return median(self.values) / base if base else float("nan")

    def row(self) -> str:
        met = {None: "-", True: "**yes**", False: "**no**"}[self.met]
        base = f"{self.baseline_title}: {spread(self.baseline)}" if self.baseline else "-"
        ratio = fmt(self.ratio_value()) + "x" if self.baseline or self.ratio is not None else "-"
        return (
            f"| {self.target_no} | {self.title} | {spread(self.values)} {self.unit} | {base} "
            f"| {ratio} | {self.target or '-'} | {met} |"
        )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _command(args: list[str]) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "n/a"


def _size(text: str) -> str:
    """sysfs's '48K' or '491520K' as 48 KiB or 480 MiB."""
    kib = int(text.rstrip("K"))
    return f"{kib // 1024} MiB" if kib >= 1024 and kib % 1024 == 0 else f"{kib} KiB"


def caches(root: Path = Path("/sys/devices/system/cpu/cpu0/cache")) -> str:
    """The first core's caches, and which of them it shares: two machines with the same
    interpreter speed cost the same code twice the CPU apart (stops 32 and 33), and a cache
    shared with the host's other guests is a suspect that an idle probe does not show."""
    shown = []
    for index in sorted(root.glob("index*")):
        level, kind = (index / "level").read_text().strip(), (index / "type").read_text().strip()
        name = "L" + level + {"Data": "d", "Instruction": "i"}.get(kind, "")
        shared = (index / "shared_cpu_list").read_text().strip()
        shown.append(f"{name} {_size((index / 'size').read_text().strip())} (cores {shared})")
    return ", ".join(shown) or "not shown by this kernel"


def machine() -> list[str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem = next(
        line.split(":", 1)[1].strip()
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return [
        f"- CPU: {_command(['nproc'])} cores, {cpu}; memory {mem}; {platform.platform()}",
        f"- Caches of the first core: {caches()}",
        f"- Python {platform.python_version()}; fastapi {_version('fastapi')}, uvicorn "
        f"{_version('uvicorn')}, celery {_version('celery')}, kombu {_version('kombu')}, redis-py "
        f"{_version('redis')}, asyncpg {_version('asyncpg')}, SQLAlchemy {_version('sqlalchemy')},"
        f" openai {_version('openai')}, httpx {_version('httpx')}",
        f"- {_command(['psql', '--version'])} (server: see below); "
        f"{_command(['redis-server', '--version']).split(' sha')[0]}",
    ]


def render(figures: list[Figure], header: list[str], sections: list[str]) -> str:
    lines = [
        *header,
        "",
        "## Figures",
        "",
        "| # | figure | median [min-max] | baseline (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [figure.row() for figure in figures]
    notes = [f"- {f.target_no} {f.title}: {f.note}" for f in figures if f.note]
    if notes:
        lines += ["", "Notes on the figures:", "", *notes]
    return "\n".join([*lines, "", *sections, ""])
