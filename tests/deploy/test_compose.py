"""Offline checks of docker-compose.yml: no Docker engine runs here.

The file is interpolated the way `docker compose` does (with an empty environment, and with
deploy/emulator.env), validated against the Compose Specification's JSON schema
(compose-spec.json, see COMPOSE_SPEC_SOURCE.md), then checked for what the schema cannot know:
dependencies, health checks, scaling, profiles and settings.
"""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared.config import Settings
from shared.queueing import Queue, queue_name

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).with_name("compose-spec.json")
EMULATOR_ENV_FILE = ROOT / "deploy" / "emulator.env"

APP_SERVICES = ("migrate", "api", "worker", "interactive-worker", "beat", "flower")


def expected_queues(prefix: str) -> list[str]:
    """Every queue the application sends to (shared/queueing.py), for a key prefix."""
    settings = Settings(redis_key_prefix=prefix)
    return [queue_name(settings, queue) for queue in Queue]


# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt},
# $VAR, and $$ (a literal $). Nested expressions are not used in this project's compose file.
_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<invalid>))"
)


def interpolate(value: str, env: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group("escaped") is not None:
            return "$"
        if match.group("named") is not None:
            return env.get(match.group("named"), "")
        name = match.group("braced")
        if name is None:
            raise ValueError(f"invalid interpolation in {value!r}")
        op, arg = match.group("op"), match.group("arg") or ""
        current = env.get(name)
        is_set = current is not None
        is_set_non_empty = bool(current)
        if op is None:
            return current or ""
        if op == ":-":
            return current if is_set_non_empty else arg
        if op == "-":
            return current if is_set else arg
        if op in (":?", "?"):
            if (is_set_non_empty if op == ":?" else is_set) and current is not None:
                return current
            raise ValueError(f"required variable {name} is missing: {arg}")
        if op == ":+":
            return arg if is_set_non_empty else ""
        return arg if is_set else ""  # "+"

    return _INTERPOLATION.sub(replace, value)


def interpolate_tree(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {key: interpolate_tree(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, env) for item in node]
    if isinstance(node, str):
        return interpolate(node, env)
    return node


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
        env[key.strip()] = value.strip()
    return env


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The compose file as `docker compose` sees it: YAML merge keys resolved, then interpolated."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    return interpolate_tree(raw, env or {})


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    # The file declares draft-07 ("https://json-schema.org/draft-07/schema", without the "#"
    # jsonschema looks up), so name the draft explicitly.
    assert "draft-07" in schema["$schema"]
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def dependencies(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends_on = service.get("depends_on") or {}
    if isinstance(depends_on, list):
        return {name: {"condition": "service_started"} for name in depends_on}
    return depends_on


def environment(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return env


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command")
    assert isinstance(cmd, list), "commands are written in exec form (a list)"
    return [str(part) for part in cmd]


def option(cmd: list[str], name: str) -> str:
    for index, part in enumerate(cmd):
        if part == name:
            return cmd[index + 1]
        if part.startswith(name + "="):
            return part.split("=", 1)[1]
    raise AssertionError(f"{name} missing from {cmd}")


def seconds(duration: str | int) -> float:
    if isinstance(duration, int):
        return duration
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


# --- the schema -----------------------------------------------------------------------------------


@pytest.mark.parametrize("env_name", ["empty environment", "deploy/emulator.env"])
def test_compose_file_matches_the_compose_specification(
    validator: jsonschema.protocols.Validator, env_name: str
) -> None:
    env = {} if env_name == "empty environment" else read_env_file(EMULATOR_ENV_FILE)
    document = load_compose(env)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_schema_rejects_a_broken_file(validator: jsonschema.protocols.Validator) -> None:
    """The validation is not vacuous: typical mistakes are caught."""
    document = load_compose()
    document["services"]["api"]["depends_on"]["migrate"]["condition"] = "service_finished"
    document["services"]["worker"]["stop_grace_periods"] = "120s"
    assert len(list(validator.iter_errors(document))) >= 2


def test_interpolation_needs_no_variable(compose: dict[str, Any]) -> None:
    """`docker compose up` works with no .env: every ${VAR} has a default or is optional."""
    text = json.dumps(compose)
    assert "${" not in text


# --- dependencies and health checks ---------------------------------------------------------------


def test_every_dependency_exists(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for target in dependencies(service):
            assert target in services, f"{name} depends on unknown service {target}"
            assert target != name


def test_dependencies_have_no_cycle(services: dict[str, dict[str, Any]]) -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for target in dependencies(services[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in services:
        visit(name, ())


def test_services_waited_for_as_healthy_define_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for target, spec in dependencies(service).items():
            if spec["condition"] == "service_healthy":
                check = services[target].get("healthcheck")
                assert check and check.get("test"), f"{name} waits for {target} to be healthy"
                assert not check.get("disable")


def test_startup_order(services: dict[str, dict[str, Any]]) -> None:
    """postgres -> migrate (one-shot) -> api/worker/beat, with Redis healthy first."""
    assert dependencies(services["migrate"])["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no", "a one-shot job must not restart"
    for name in ("api", "worker", "beat"):
        deps = dependencies(services[name])
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert deps["redis"]["condition"] == "service_healthy", name
    assert dependencies(services["flower"])["redis"]["condition"] == "service_healthy"


def test_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    def check(name: str) -> str:
        return " ".join(services[name]["healthcheck"]["test"])

    assert "pg_isready" in check("postgres")
    assert "redis-cli ping" in check("redis")
    assert "/readyz" in check("api")
    assert "/healthcheck" in check("flower")
    assert "inspect ping" in check("worker")
    # $$ is compose's escape: the container's shell, not compose, expands $HOSTNAME.
    raw = yaml.safe_load(COMPOSE_FILE.read_text())
    assert "celery@$$HOSTNAME" in " ".join(raw["services"]["worker"]["healthcheck"]["test"])


# --- scaling, profiles, commands ------------------------------------------------------------------


def test_worker_scales_with_the_scale_flag(services: dict[str, dict[str, Any]]) -> None:
    """`--scale worker=N` needs no fixed container name and no fixed host port."""
    worker = services["worker"]
    for key in ("container_name", "ports", "hostname", "scale"):
        assert key not in worker, f"worker must not set {key}"
    assert "replicas" not in (worker.get("deploy") or {})
    assert seconds(worker["stop_grace_period"]) >= 120, "time to finish in-flight jobs"


def test_no_service_pins_a_container_name(services: dict[str, dict[str, Any]]) -> None:
    assert not [name for name, service in services.items() if "container_name" in service]


def test_emulator_is_an_opt_in_profile(services: dict[str, dict[str, Any]]) -> None:
    assert services["emulator"]["profiles"] == ["emulator"]
    assert command(services["emulator"])[:3] == ["python", "-m", "emulator"]
    assert option(command(services["emulator"]), "--port") == "8090"
    for name, service in services.items():
        if name != "emulator":
            assert not service.get("profiles"), f"{name} must start without a profile"
            assert "emulator" not in dependencies(service), f"{name} cannot need the emulator"


def test_one_image_for_every_application_service(services: dict[str, dict[str, Any]]) -> None:
    images = {services[name]["image"] for name in (*APP_SERVICES, "emulator")}
    assert len(images) == 1
    for name in (*APP_SERVICES, "emulator"):
        build = services[name]["build"]
        assert (ROOT / build["context"] / build["dockerfile"]).resolve() == (
            ROOT / "deploy" / "Dockerfile"
        )


def test_commands(services: dict[str, dict[str, Any]]) -> None:
    assert command(services["migrate"]) == ["assistants-admin", "migrate"]
    api = command(services["api"])
    assert api[:2] == ["uvicorn", "api.main:app"] and option(api, "--port") == "8000"

    consumed: list[str] = []
    for name, concurrency in (("worker", "200"), ("interactive-worker", "50")):
        worker = command(services[name])
        assert worker[:4] == ["celery", "-A", "workers.celery_app", "worker"]
        assert option(worker, "--pool") == "threads"
        assert option(worker, "--concurrency") == concurrency
        assert "-E" in worker, "task events feed Flower"
        consumed += option(worker, "--queues").split(",")
    assert sorted(consumed) == sorted(expected_queues("assistants")), "a queue nobody consumes"
    assert option(command(services["interactive-worker"]), "--queues") == "assistants.interactive"

    assert command(services["beat"])[:4] == ["celery", "-A", "workers.celery_app", "beat"]
    flower = command(services["flower"])
    assert flower[:4] == ["celery", "-A", "workers.celery_app", "flower"]
    assert option(flower, "--port") == "5555"


def test_queue_names_follow_the_key_prefix() -> None:
    services = load_compose({"REDIS_KEY_PREFIX": "acme"})["services"]
    queues = [
        queue
        for name in ("worker", "interactive-worker")
        for queue in option(command(services[name]), "--queues").split(",")
    ]
    assert sorted(queues) == sorted(expected_queues("acme"))


def test_published_ports(services: dict[str, dict[str, Any]]) -> None:
    def container_ports(name: str) -> set[str]:
        return {str(port).rsplit(":", 1)[-1] for port in services[name].get("ports", [])}

    assert container_ports("api") == {"8000"}
    assert container_ports("flower") == {"5555"}
    assert container_ports("emulator") == {"8090"}
    for name in ("worker", "interactive-worker", "beat", "migrate"):
        assert not container_ports(name)


# --- settings -------------------------------------------------------------------------------------


def test_application_settings_are_real_settings(services: dict[str, dict[str, Any]]) -> None:
    """Every variable given to the application is a field of shared.config.Settings (no typos)."""
    known = {name.upper() for name in Settings.model_fields}
    for name in APP_SERVICES:
        unknown = set(environment(services[name])) - known
        assert not unknown, f"{name}: not settings: {sorted(unknown)}"


def test_application_reaches_postgres_and_redis(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        env = environment(services[name])
        assert "@postgres:5432/" in env["DATABASE_URL"], name
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://"), name
        assert env["REDIS_URL"].startswith("redis://redis:6379/"), name
        assert env["REDIS_KEY_PREFIX"] == "assistants", name


def test_provider_settings_pass_through(services: dict[str, dict[str, Any]]) -> None:
    """Keys and base URLs come from the shell or .env, and are absent (not empty) otherwise."""
    for name in APP_SERVICES:
        env = environment(services[name])
        for key in (
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "GOOGLE_API_KEY",
            "OPENAI_BASE_URL",
            "ANTHROPIC_BASE_URL",
            "GOOGLE_GEMINI_BASE_URL",
            "ALLOW_EMULATED_PROVIDERS",
        ):
            assert key in env and env[key] is None, f"{name}: {key} should be a bare pass-through"


def test_flower_has_basic_auth_with_a_development_default(
    services: dict[str, dict[str, Any]],
) -> None:
    default = environment(services["flower"])["FLOWER_BASIC_AUTH"]
    user, sep, password = default.partition(":")
    assert sep and user and password
    overridden = load_compose({"FLOWER_BASIC_AUTH": "ops:s3cret"})["services"]["flower"]
    assert environment(overridden)["FLOWER_BASIC_AUTH"] == "ops:s3cret"


def test_unkeyed_providers_are_emulated_by_the_emulator_service(
    services: dict[str, dict[str, Any]],
) -> None:
    """Outside production a provider without a key is emulated at EMULATOR_HOST:EMULATOR_PORT."""
    emulator_port = option(command(services["emulator"]), "--port")
    assert emulator_port == str(Settings.model_fields["emulator_port"].default)
    for name in APP_SERVICES:
        env = environment(services[name])
        assert env["EMULATOR_HOST"] == "emulator", name
        assert "EMULATOR_PORT" not in env, f"{name}: the container port is the default"


def test_emulator_env_file_points_the_workers_at_the_emulator(
    services: dict[str, dict[str, Any]],
) -> None:
    env = read_env_file(EMULATOR_ENV_FILE)
    assert env["COMPOSE_PROFILES"] == "emulator"
    assert env["ALLOW_EMULATED_PROVIDERS"] == "true"
    assert env["OPENAI_BASE_URL"] == "http://emulator:8090/v1"
    assert env["ANTHROPIC_BASE_URL"] == "http://emulator:8090"
    assert env["GOOGLE_GEMINI_BASE_URL"] == "http://emulator:8090"
    # Everything but compose's own variables reaches the worker through its pass-through keys.
    settings = {key for key in env if not key.startswith("COMPOSE_")}
    assert settings <= set(environment(services["worker"]))
