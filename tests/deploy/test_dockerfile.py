"""Offline checks of deploy/Dockerfile and /.dockerignore (no Docker engine here): a plain parse.

Multi-stage, a python:3.11-slim runtime holding only the virtualenv, a non-root user, the ports and
the default command; the build context lets in what the image needs and keeps the rest out; and
the wheel the image installs (`pip install .`, not editable) ships every data file of the packages.
"""

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
PACKAGES = ("api", "workers", "shared", "emulator")


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) pairs: comments dropped, backslash continuations joined."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, arguments = line.partition(" ")
        result.append((keyword.upper(), arguments.strip()))
    assert not pending, "dangling line continuation"
    return result


def stages() -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the build stages, with ${ARG} resolved in FROM lines."""
    args: dict[str, str] = {}
    result: list[Stage] = []
    for keyword, arguments in instructions(DOCKERFILE.read_text()):
        if keyword == "FROM":
            words = arguments.split()
            words = [w for w in words if not w.startswith("--platform")]
            base = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append(Stage(base=base, name=name))
        elif keyword == "ARG" and not result:
            key, _, default = arguments.partition("=")
            args[key] = default
        else:
            assert result, f"{keyword} before the first FROM"
            result[-1].instructions.append((keyword, arguments))
    return args, result


def exec_form(arguments: str) -> list[str]:
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def test_multi_stage_build() -> None:
    _, all_stages = stages()
    assert len(all_stages) >= 2, "a builder stage and a runtime stage"
    builder, runtime = all_stages[0], all_stages[-1]
    assert builder.name == "builder"
    assert runtime.base == "python:3.11-slim"
    assert builder.base == runtime.base, "the venv's interpreter path must exist at runtime"


def test_runtime_stage_holds_only_the_virtualenv() -> None:
    _, all_stages = stages()
    runtime = all_stages[-1]
    copies = runtime.all("COPY") + runtime.all("ADD")
    assert copies == ["--from=builder /opt/venv /opt/venv"], "nothing from the build context"
    assert any("/opt/venv/bin" in env for env in runtime.all("ENV"))
    # No compiler or package cache left behind.
    assert not any("apt-get install" in run for run in runtime.all("RUN"))


def test_runs_as_a_non_root_user() -> None:
    _, all_stages = stages()
    users = all_stages[-1].all("USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), "the image must not run as root"
    # Numeric, so Kubernetes can check runAsNonRoot without resolving a name.
    assert user.isdigit()
    group = users[-1].split(":")[1] if ":" in users[-1] else None
    assert group != "0"
    useradd = " ".join(all_stages[-1].all("RUN"))
    assert f"--uid {user}" in useradd, "the uid exists in /etc/passwd"


def test_ports_and_default_command() -> None:
    _, all_stages = stages()
    runtime = all_stages[-1]
    exposed = {port for line in runtime.all("EXPOSE") for port in line.split()}
    assert {"8000", "5555", "8090"} <= exposed
    (cmd,) = runtime.all("CMD")
    assert exec_form(cmd) == ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000"]
    assert not runtime.all("ENTRYPOINT"), "the command alone chooses the process"
    assert not runtime.all("HEALTHCHECK"), "one health check cannot fit api, worker and beat"


def test_builder_installs_the_project_as_a_wheel() -> None:
    _, all_stages = stages()
    builder = all_stages[0]
    copied = {args.split()[0] for args in builder.all("COPY")}
    assert {"pyproject.toml", "README.md", *PACKAGES} <= copied
    runs = " ".join(builder.all("RUN"))
    assert "python -m venv /opt/venv" in runs
    assert "pip wheel" in runs and "pip install --no-deps /tmp/wheels/" in runs


def test_every_package_is_copied() -> None:
    """A package added to pyproject.toml must be copied into the build too."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    includes = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert sorted(pattern.rstrip("*") for pattern in includes) == sorted(PACKAGES)


# --- .dockerignore --------------------------------------------------------------------------------


def dockerignore_patterns() -> list[tuple[bool, re.Pattern[str]]]:
    """(exclude?, regex) per line, following Docker's rules (Go filepath.Match plus `**`)."""
    patterns = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        pattern = line[1:].strip() if include else line
        pattern = pattern.strip("/")
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**", index):
                regex += ".*"
                index += 2
                if pattern.startswith("/", index):
                    regex += "/?"
                    index += 1
                continue
            char = pattern[index]
            if char == "*":
                regex += "[^/]*"
            elif char == "?":
                regex += "[^/]"
            elif char == "[":
                end = pattern.index("]", index)
                regex += pattern[index : end + 1]
                index = end
            else:
                regex += re.escape(char)
            index += 1
        patterns.append((not include, re.compile(f"^{regex}$")))
    return patterns


def is_excluded(path: str) -> bool:
    """The last pattern matching the path, or one of its parent directories, decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for exclude, regex in dockerignore_patterns():
        if any(regex.match(candidate) for candidate in candidates):
            excluded = exclude
    return excluded


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "README.md",
        "api/main.py",
        "workers/__init__.py",
        "shared/config.py",
        "shared/catalogue/data/models.json",
        "shared/migrations/script.py.mako",
        "emulator/__main__.py",
    ],
)
def test_build_context_includes(path: str) -> None:
    assert not is_excluded(path)


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        ".env",
        "tests/conftest.py",
        "docker-compose.yml",
        "api/__pycache__/main.cpython-311.pyc",
        ".ruff_cache/x",
    ],
)
def test_build_context_excludes(path: str) -> None:
    assert is_excluded(path)


# --- the wheel ------------------------------------------------------------------------------------


def glob_match(pattern: str, path: str) -> bool:
    """setuptools package-data globs: `*` stays within one directory, `**` spans several."""
    if "**" in pattern:
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*")
        return re.fullmatch(regex, path) is not None
    pattern_parts, path_parts = pattern.split("/"), path.split("/")
    return len(pattern_parts) == len(path_parts) and all(
        fnmatch.fnmatchcase(p, q) for q, p in zip(pattern_parts, path_parts, strict=True)
    )


def test_wheel_ships_every_data_file() -> None:
    """The image installs the project with `pip install` (not editable): a data file that
    [tool.setuptools.package-data] does not list is missing from the image (the Dockerfile's
    builder fails on it too). Example fix: `shared = ["catalogue/data/*.json", ...]`."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    package_data: dict[str, list[str]] = pyproject["tool"]["setuptools"].get("package-data", {})
    missing = []
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path.suffix in (".py", ".pyc") or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(ROOT).as_posix()
            covered = False
            parts = relative.split("/")
            for depth in range(1, len(parts)):  # the package owning the pattern, then its parents
                package = ".".join(parts[:depth])
                inside = "/".join(parts[depth:])
                patterns = [*package_data.get(package, []), *package_data.get("*", [])]
                if any(glob_match(pattern, inside) for pattern in patterns):
                    covered = True
                    break
            if not covered:
                missing.append(relative)
    assert not missing, f"not in the wheel (add to [tool.setuptools.package-data]): {missing}"
