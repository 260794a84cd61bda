"""Offline checks of deploy/kubernetes/: no cluster runs here.

Every core object is validated by kubernetes-validate against the OpenAPI schemas it bundles, in
strict mode (unknown fields are errors), for the oldest and the newest Kubernetes version we
support. kubernetes-validate knows no custom resources: for those it raises SchemaNotFoundError,
so KEDA's ScaledObject is validated here by a structural schema of its own (plus its embedded HPA
behaviour through kubernetes-validate), and any other unknown kind fails the test. Then the
semantics: probes, resources, security, selectors, references, the KEDA triggers, kustomization.
"""

import contextlib
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import kubernetes_validate
import pytest
import yaml

from shared.config import Settings
from shared.queueing import Queue, make_celery, queue_name

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "kubernetes"
KUSTOMIZATION = K8S_DIR / "kustomization.yaml"

# The oldest Kubernetes these manifests target and the newest kubernetes-validate bundles.
K8S_VERSIONS = ("1.29", kubernetes_validate.latest_version())

# The queues whose backlog scales the workers (maintenance holds only the reaper's sweeps).
SCALING_QUEUES = (Queue.interactive, Queue.default, Queue.batch)
# Each worker Deployment and the queues it consumes: synchronous execute has pods of its own.
WORKERS = {
    "assistants-worker": (Queue.default, Queue.batch, Queue.maintenance),
    "assistants-interactive-worker": (Queue.interactive,),
}
SECRET_KEYS = {
    "DATABASE_URL",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GOOGLE_API_KEY",
    "FLOWER_BASIC_AUTH",
}
WORKLOAD_KINDS = {"Deployment", "Job"}
DNS_1123 = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S_DIR.glob("*.y*ml") if p != KUSTOMIZATION)


def load_documents() -> list[tuple[str, dict[str, Any]]]:
    documents = []
    for path in manifest_files():
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                documents.append((path.name, document))
    return documents


DOCUMENTS = load_documents()


def doc_id(item: tuple[str, dict[str, Any]]) -> str:
    filename, document = item
    return f"{filename}:{document['kind']}/{document['metadata']['name']}"


def find(kind: str, name: str) -> dict[str, Any]:
    matches = [d for _, d in DOCUMENTS if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [d for _, d in DOCUMENTS if d["kind"] == kind]


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def main_container(workload: dict[str, Any]) -> dict[str, Any]:
    (container,) = pod_spec(workload)["containers"]
    return container


def all_containers() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(w, c) for _, w in DOCUMENTS if w["kind"] in WORKLOAD_KINDS for c in containers(w)]


def container_params() -> list[Any]:
    return [
        pytest.param(w, c, id=f"{w['kind']}/{w['metadata']['name']}/{c['name']}")
        for w, c in all_containers()
    ]


def container_name(workload: dict[str, Any], container: dict[str, Any]) -> str:
    return f"{workload['kind']}/{workload['metadata']['name']}/{container['name']}"


def command_line(container: dict[str, Any]) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def option(cmd: list[str], name: str) -> str:
    for index, part in enumerate(cmd):
        if part == name:
            return cmd[index + 1]
        if part.startswith(name + "="):
            return part.split("=", 1)[1]
    raise AssertionError(f"{name} missing from {cmd}")


def quantity(value: str | int | float) -> float:
    """A Kubernetes resource quantity as a number (cores or bytes)."""
    suffixes = {
        "m": 1e-3,
        "k": 1e3,
        "M": 1e6,
        "G": 1e9,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
    }
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([a-zA-Z]*)", str(value))
    assert match and match.group(2) in ("", *suffixes), f"bad quantity {value!r}"
    return float(match.group(1)) * suffixes.get(match.group(2), 1)


def config_map() -> dict[str, str]:
    return find("ConfigMap", "assistants-config")["data"]


def secret() -> dict[str, str]:
    return find("Secret", "assistants-secrets")["stringData"]


# --- KEDA ScaledObject: a custom resource kubernetes-validate does not know ------------------------

_HPA_BEHAVIOR_PLACEHOLDER: dict[str, Any] = {"type": "object"}  # checked by kubernetes-validate

SCALED_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": DNS_1123, "maxLength": 253},
                "namespace": {"type": "string"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["scaleTargetRef", "triggers"],
            "additionalProperties": False,
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "name": {"type": "string"},
                        "envSourceContainerName": {"type": "string"},
                    },
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": {
                    "type": "object",
                    "required": ["failureThreshold", "replicas"],
                    "properties": {
                        "failureThreshold": {"type": "integer", "minimum": 1},
                        "replicas": {"type": "integer", "minimum": 0},
                    },
                },
                "advanced": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "restoreToOriginalReplicaCount": {"type": "boolean"},
                        "horizontalPodAutoscalerConfig": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "name": {"type": "string"},
                                "behavior": _HPA_BEHAVIOR_PLACEHOLDER,
                            },
                        },
                        "scalingModifiers": {"type": "object"},
                    },
                },
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["type", "metadata"],
                        "additionalProperties": False,
                        "properties": {
                            "type": {"type": "string", "minLength": 1},
                            "name": {"type": "string"},
                            "metadata": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                            "authenticationRef": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "kind": {
                                        "enum": [
                                            "TriggerAuthentication",
                                            "ClusterTriggerAuthentication",
                                        ]
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}

# The metadata KEDA's `redis` scaler (list length) reads; every value is a string.
REDIS_TRIGGER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["listName", "listLength"],
    "anyOf": [
        {"required": ["address"]},
        {"required": ["addressFromEnv"]},
        {"required": ["host", "port"]},
        {"required": ["hostFromEnv", "portFromEnv"]},
    ],
    "additionalProperties": False,
    "properties": {
        "address": {"type": "string", "pattern": r"^[A-Za-z0-9.-]+:\d+$"},
        "addressFromEnv": {"type": "string"},
        "host": {"type": "string"},
        "hostFromEnv": {"type": "string"},
        "port": {"type": "string", "pattern": r"^\d+$"},
        "portFromEnv": {"type": "string"},
        "username": {"type": "string"},
        "usernameFromEnv": {"type": "string"},
        "passwordFromEnv": {"type": "string"},
        "enableTLS": {"enum": ["true", "false"]},
        "unsafeSsl": {"enum": ["true", "false"]},
        "databaseIndex": {"type": "string", "pattern": r"^\d+$"},
        "listName": {"type": "string", "minLength": 1},
        "listLength": {"type": "string", "pattern": r"^[1-9]\d*$"},
        "activationListLength": {"type": "string", "pattern": r"^\d+$"},
    },
}


def validate_scaled_object(document: dict[str, Any], version: str) -> None:
    jsonschema.Draft202012Validator(SCALED_OBJECT_SCHEMA).validate(document)
    spec = document["spec"]
    for trigger in spec["triggers"]:
        if trigger["type"] == "redis":
            jsonschema.Draft202012Validator(REDIS_TRIGGER_SCHEMA).validate(trigger["metadata"])
    # KEDA turns the ScaledObject into an HPA: validate that HPA with kubernetes-validate, which
    # checks the embedded `behavior` against the real autoscaling/v2 schema.
    hpa_config = spec.get("advanced", {}).get("horizontalPodAutoscalerConfig", {})
    hpa_spec: dict[str, Any] = {
        "scaleTargetRef": {
            "apiVersion": spec["scaleTargetRef"].get("apiVersion", "apps/v1"),
            "kind": spec["scaleTargetRef"].get("kind", "Deployment"),
            "name": spec["scaleTargetRef"]["name"],
        },
        "minReplicas": max(spec.get("minReplicaCount", 0), 1),
        "maxReplicas": spec.get("maxReplicaCount", 100),
    }
    if "behavior" in hpa_config:
        hpa_spec["behavior"] = hpa_config["behavior"]
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": f"keda-hpa-{document['metadata']['name']}"},
        "spec": hpa_spec,
    }
    kubernetes_validate.validate(hpa, version, strict=True)


CUSTOM_RESOURCE_VALIDATORS = {("keda.sh/v1alpha1", "ScaledObject"): validate_scaled_object}


def validate_document(document: dict[str, Any], version: str) -> None:
    custom = CUSTOM_RESOURCE_VALIDATORS.get((document["apiVersion"], document["kind"]))
    if custom is not None:
        custom(document, version)
        # Should kubernetes-validate ever learn the kind, hold the document to its schema too.
        with contextlib.suppress(kubernetes_validate.SchemaNotFoundError):
            kubernetes_validate.validate(document, version, strict=True)
        return
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(
            f"{exc.message}: a typo in apiVersion/kind, or a custom resource that needs an entry "
            "in CUSTOM_RESOURCE_VALIDATORS"
        )


# --- schema validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("item", DOCUMENTS, ids=doc_id)
def test_manifest_is_valid(item: tuple[str, dict[str, Any]], version: str) -> None:
    _, document = item
    try:
        validate_document(document, version)
    except (kubernetes_validate.ValidationError, jsonschema.ValidationError) as exc:
        path = ".".join(str(part) for part in exc.path)
        pytest.fail(f"{doc_id(item)} against Kubernetes {version}: {path}: {exc.message}")


def test_validation_catches_mistakes() -> None:
    """The validators are not vacuous: a misspelt field, a wrong type, an unknown kind fail."""
    deployment = find("Deployment", "assistants-api")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["periodSecond"] = 5
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSIONS[0], strict=True)

    scaled = yaml.safe_load(yaml.safe_dump(find("ScaledObject", "assistants-worker")))
    scaled["spec"]["triggers"][0]["metadata"]["listLength"] = 20  # must be a string
    with pytest.raises(jsonschema.ValidationError):
        validate_scaled_object(scaled, K8S_VERSIONS[0])

    scaled = yaml.safe_load(yaml.safe_dump(find("ScaledObject", "assistants-worker")))
    scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"][
        "policies"
    ][0]["type"] = 7
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_scaled_object(scaled, K8S_VERSIONS[0])

    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(
            {"apiVersion": "apps/v1beta9", "kind": "Deployment", "metadata": {"name": "x"}},
            K8S_VERSIONS[0],
        )


def test_every_object_has_a_valid_unique_name() -> None:
    seen = set()
    for _, document in DOCUMENTS:
        name = document["metadata"]["name"]
        assert re.match(DNS_1123, name) and len(name) <= 63, name
        key = (document["kind"], name)
        assert key not in seen, f"duplicate {key}"
        seen.add(key)
        assert "namespace" not in document["metadata"], "the kustomization sets the namespace"


# --- kustomization --------------------------------------------------------------------------------


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources)), "duplicate resource"
    assert sorted(resources) == sorted(p.name for p in manifest_files())


def test_kustomization_pins_the_one_image() -> None:
    kustomization = yaml.safe_load(KUSTOMIZATION.read_text())
    images = {c["image"] for _, c in all_containers()}
    assert images == {"assistants-api"}, "every process runs the same image"
    (entry,) = kustomization["images"]
    assert entry["name"] == "assistants-api" and entry["newTag"]
    assert kustomization["namespace"] == find("Namespace", "assistants")["metadata"]["name"]


# --- every container ------------------------------------------------------------------------------


@pytest.mark.parametrize("workload,container", container_params())
def test_container_has_requests_and_limits(
    workload: dict[str, Any], container: dict[str, Any]
) -> None:
    name = container_name(workload, container)
    resources = container.get("resources", {})
    for resource in ("cpu", "memory"):
        request = resources.get("requests", {}).get(resource)
        limit = resources.get("limits", {}).get(resource)
        assert request and limit, f"{name}: {resource} request and limit"
        assert quantity(request) <= quantity(limit), f"{name}: {resource} request > limit"


@pytest.mark.parametrize("workload,container", container_params())
def test_container_runs_unprivileged(workload: dict[str, Any], container: dict[str, Any]) -> None:
    """Pod Security Standard `restricted` (the namespace enforces it), non-root first of all."""
    name = container_name(workload, container)
    pod_security = pod_spec(workload).get("securityContext", {})
    security = container.get("securityContext", {})
    assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, name
    assert security.get("runAsUser", pod_security.get("runAsUser", 1)) != 0, name
    assert security.get("allowPrivilegeEscalation") is False, name
    assert security.get("privileged", False) is False, name
    assert "ALL" in security.get("capabilities", {}).get("drop", []), name
    seccomp = security.get("seccompProfile", pod_security.get("seccompProfile", {}))
    assert seccomp.get("type") in ("RuntimeDefault", "Localhost"), name
    assert pod_spec(workload).get("automountServiceAccountToken") is False, name


@pytest.mark.parametrize("workload,container", container_params())
def test_container_configuration_references_exist(
    workload: dict[str, Any], container: dict[str, Any]
) -> None:
    """envFrom names real objects, and every $(VAR) in the command is defined for expansion."""
    name = container_name(workload, container)
    defined = {item["name"] for item in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            defined |= set(find("ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            defined |= set(find("Secret", source["secretRef"]["name"])["stringData"])
    assert {"DATABASE_URL", "REDIS_URL"} <= defined, name
    for part in command_line(container):
        for variable in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", part):
            assert variable in defined, f"{name}: $({variable}) is not defined"


@pytest.mark.parametrize("deployment", of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_long_running_containers_have_probes(deployment: dict[str, Any]) -> None:
    for container in pod_spec(deployment)["containers"]:
        for probe in ("livenessProbe", "readinessProbe"):
            assert probe in container, f"{deployment['metadata']['name']}: {probe}"
            settings = container[probe]
            assert settings.get("timeoutSeconds", 1) < settings.get("periodSeconds", 10)
        ports = {port["name"] for port in container.get("ports", [])}
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = container.get(probe, {}).get("httpGet", {}).get("port")
            if isinstance(port, str):
                assert port in ports, f"probe port {port} is not a container port"


@pytest.mark.parametrize("deployment", of_kind("Deployment"), ids=lambda d: d["metadata"]["name"])
def test_deployment_selector_matches_its_pods(deployment: dict[str, Any]) -> None:
    selector = deployment["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    others = [d for d in of_kind("Deployment") if d is not deployment]
    for other in others:  # no pod is claimed by two Deployments
        assert not selector.items() <= other["spec"]["template"]["metadata"]["labels"].items()


# --- settings -------------------------------------------------------------------------------------


def test_configuration_keys_are_real_settings() -> None:
    known = {name.upper() for name in Settings.model_fields}
    assert not set(config_map()) - known, "ConfigMap keys that are not settings"
    assert not set(secret()) - known, "Secret keys that are not settings"


def test_secrets_stay_out_of_the_config_map() -> None:
    assert not SECRET_KEYS & set(config_map())
    assert config_map()["ENVIRONMENT"] == "production"
    assert config_map()["ALLOW_EMULATED_PROVIDERS"] == "false"


def test_secret_holds_only_marked_placeholders() -> None:
    document = find("Secret", "assistants-secrets")
    assert "data" not in document, "plain stringData placeholders only"
    assert set(secret()) == SECRET_KEYS
    for key, value in secret().items():
        assert "REPLACE_ME" in value, f"{key} must be an obvious placeholder"
    text = (K8S_DIR / "secret.yaml").read_text()
    assert "PLACEHOLDERS ONLY" in text


# --- api ------------------------------------------------------------------------------------------


def test_api() -> None:
    deployment = find("Deployment", "assistants-api")
    container = main_container(deployment)
    cmd = command_line(container)
    assert cmd[:2] == ["uvicorn", "api.main:app"]
    assert option(cmd, "--host") == "0.0.0.0" and option(cmd, "--port") == "8000"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in container["ports"]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"

    service = find("Service", "assistants-api")
    assert service["spec"]["selector"].items() <= pod_labels(deployment).items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"

    hpa = find("HorizontalPodAutoscaler", "assistants-api")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "assistants-api",
    }
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource" and metric["resource"]["name"] == "cpu"
    assert metric["resource"]["target"]["type"] == "Utilization"
    assert hpa["spec"]["minReplicas"] >= 2, "one pod may be disrupted at any time"


@pytest.mark.parametrize("name", ["assistants-api", *WORKERS])
def test_pod_disruption_budget(name: str) -> None:
    budget = find("PodDisruptionBudget", name)
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels(find("Deployment", name)).items()
    assert ("maxUnavailable" in budget["spec"]) != ("minAvailable" in budget["spec"])


# --- worker and KEDA ------------------------------------------------------------------------------


def cluster_settings() -> Settings:
    return Settings(
        redis_key_prefix=config_map()["REDIS_KEY_PREFIX"], redis_url=config_map()["REDIS_URL"]
    )


def redis_list(queue: str) -> str:
    """The Redis list holding a Celery queue: the transport's global_keyprefix + the queue name."""
    app = make_celery(cluster_settings())
    return app.conf.broker_transport_options.get("global_keyprefix", "") + queue


def worker_queues(name: str) -> list[str]:
    return option(command_line(main_container(find("Deployment", name))), "--queues").split(",")


@pytest.mark.parametrize("name", WORKERS)
def test_worker(name: str) -> None:
    deployment = find("Deployment", name)
    container = main_container(deployment)
    cmd = command_line(container)
    assert cmd[:4] == ["celery", "-A", "workers.celery_app", "worker"]
    assert option(cmd, "--pool") == "threads"
    assert option(cmd, "--concurrency")
    assert "-E" in cmd, "task events feed Flower"
    settings = cluster_settings()
    assert sorted(worker_queues(name)) == sorted(queue_name(settings, q) for q in WORKERS[name])
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
    assert pod_spec(deployment)["terminationGracePeriodSeconds"] >= 120

    for probe in ("livenessProbe", "readinessProbe"):
        settings = container[probe]
        script = " ".join(settings["exec"]["command"])
        assert "celery -A workers.celery_app inspect ping -d" in script
        assert "celery@$HOSTNAME" in script
        assert settings["exec"]["command"][:2] == ["sh", "-c"], "$HOSTNAME needs a shell"
        # Each check starts a Python process: not too often, and time for a busy worker to answer.
        assert settings["periodSeconds"] >= 30 and settings["timeoutSeconds"] >= 10


def test_the_workers_together_consume_every_queue_and_keep_interactive_apart() -> None:
    settings = cluster_settings()
    consumed = [queue for name in WORKERS for queue in worker_queues(name)]
    assert sorted(consumed) == sorted(queue_name(settings, queue) for queue in Queue)
    assert worker_queues("assistants-interactive-worker") == [
        queue_name(settings, Queue.interactive)
    ]
    labels = [pod_labels(find("Deployment", name)) for name in WORKERS]
    assert labels[0] != labels[1], "each Deployment selects only its own pods"


@pytest.mark.parametrize("name", WORKERS)
def test_worker_autoscaling_on_queue_length(name: str) -> None:
    scaled = find("ScaledObject", name)
    spec = scaled["spec"]
    target = spec["scaleTargetRef"]
    assert target.get("kind", "Deployment") == "Deployment"
    assert find("Deployment", target["name"]) is find("Deployment", name)
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]

    redis_url = urlparse(config_map()["REDIS_URL"])
    triggers = spec["triggers"]
    assert {t["type"] for t in triggers} == {"redis"}
    settings = cluster_settings()
    scaling = [queue for queue in WORKERS[name] if queue in SCALING_QUEUES]
    expected = sorted(redis_list(queue_name(settings, queue)) for queue in scaling)
    assert sorted(t["metadata"]["listName"] for t in triggers) == expected
    for trigger in triggers:
        metadata = trigger["metadata"]
        # The KEDA operator runs in its own namespace: the address must be fully qualified.
        assert metadata["address"] == f"{redis_url.hostname}:{redis_url.port}"
        assert ".svc" in metadata["address"]
        assert metadata.get("databaseIndex", "0") == (redis_url.path.strip("/") or "0")

    # KEDA creates the worker's HPA; a second one would fight it.
    for hpa in of_kind("HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["name"] != name


# --- beat, flower, migration ----------------------------------------------------------------------


def test_exactly_one_beat() -> None:
    deployment = find("Deployment", "assistants-beat")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"]["type"] == "Recreate", "never two beats during a rollout"
    cmd = command_line(main_container(deployment))
    assert cmd[:4] == ["celery", "-A", "workers.celery_app", "beat"]
    assert option(cmd, "--schedule").startswith("/tmp/"), "the root filesystem is read-only"
    scaled_targets = {d["spec"]["scaleTargetRef"]["name"] for d in of_kind("ScaledObject")}
    scaled_targets |= {
        d["spec"]["scaleTargetRef"]["name"] for d in of_kind("HorizontalPodAutoscaler")
    }
    assert "assistants-beat" not in scaled_targets


def test_flower() -> None:
    deployment = find("Deployment", "assistants-flower")
    container = main_container(deployment)
    cmd = command_line(container)
    assert cmd[:4] == ["celery", "-A", "workers.celery_app", "flower"]
    assert option(cmd, "--port") == "5555"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthcheck"
    # Basic auth: Flower reads FLOWER_BASIC_AUTH from its environment, here from the Secret.
    secret_refs = [s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s]
    assert "assistants-secrets" in secret_refs and "FLOWER_BASIC_AUTH" in secret()
    service = find("Service", "assistants-flower")
    assert service["spec"]["selector"].items() <= pod_labels(deployment).items()
    assert service["spec"]["ports"][0]["port"] == 5555
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP", "not exposed by default"


def test_migration_job() -> None:
    job = find("Job", "assistants-migrate")
    assert command_line(main_container(job)) == ["assistants-admin", "migrate"]
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure")
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"].get("activeDeadlineSeconds"), "a stuck migration must not hang a deploy"
