"""The Kubernetes manifests render, pass the Kubernetes schemas and agree with the app and image.

No cluster runs here: every overlay is rendered with `kubectl kustomize` and each object is
validated offline with `kubernetes-validate` in strict mode (an unknown field fails), against
the oldest Kubernetes the manifests are written for and the newest the validator knows.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from kubernetes_validate import ValidationError, latest_version, validate

from resolver.app import create_app
from resolver.settings import ENV_PREFIX, OTHER_VARIABLES, Settings
from tests.conftest import settings_for
from tests.support.deploy import DEPLOY, container_command
from tests.support.kubernetes import KUSTOMIZE, OVERLAYS, kubectl, one, render

if TYPE_CHECKING:
    from tests.support.kubernetes import Manifest

# The preStop `sleep` action is on by default from 1.30; older clusters are out of support.
OLDEST = "1.30.0"
VERSIONS = [OLDEST, latest_version()]
KINDS = {
    "ServiceAccount",
    "ConfigMap",
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
}
SETTINGS = {f"{ENV_PREFIX}{name.upper()}" for name in Settings.model_fields}
REDIS_URL = f"{ENV_PREFIX}REDIS_URL"
SECRETS_DIR = f"{ENV_PREFIX}SECRETS_DIR"
SCHEMES = {"redis": "redis://", "sentinel": "redis+sentinel://", "cluster": "redis+cluster://"}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    """Each overlay's objects, rendered once for the module."""
    binary, reason = kubectl()
    if binary is None:
        pytest.skip(f"kubectl kustomize renders the manifests: {reason}")
    return {overlay: render(binary, KUSTOMIZE / "overlays" / overlay) for overlay in OVERLAYS}


def pod_spec(manifests: list[Manifest]) -> dict[str, Any]:
    spec: dict[str, Any] = one(manifests, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(manifests: list[Manifest]) -> dict[str, Any]:
    containers = pod_spec(manifests)["containers"]
    assert len(containers) == 1  # one uvicorn process per pod
    found: dict[str, Any] = containers[0]
    return found


def settings_data(manifests: list[Manifest]) -> dict[str, str]:
    data: dict[str, str] = one(manifests, "ConfigMap")["data"]
    return data


def test_there_is_an_overlay_per_redis_topology() -> None:
    """An existing Redis server, Sentinel and Cluster."""
    assert set(OVERLAYS) == set(SCHEMES)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_of_every_overlay_passes_the_kubernetes_schema_strictly(
    rendered: dict[str, list[Manifest]], overlay: str, version: str
) -> None:
    """Each object is valid for its kind, with no field the API would drop or refuse."""
    manifests = rendered[overlay]
    assert {manifest["kind"] for manifest in manifests} == KINDS
    for manifest in manifests:
        validate(manifest, version, strict=True)


def test_strict_validation_refuses_a_misspelt_field(rendered: dict[str, list[Manifest]]) -> None:
    """The check above can fail: a field the API does not know is an error, not ignored."""
    deployment = copy.deepcopy(one(rendered["redis"], "Deployment"))
    security = deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]
    security["readOnlyRootFileSystem"] = security.pop("readOnlyRootFilesystem")
    with pytest.raises(ValidationError, match="readOnlyRootFileSystem"):
        validate(deployment, OLDEST, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_manifests_set_only_real_settings_with_values_the_service_accepts(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    """Every RESOLVER_ variable is a setting (or the secrets directory), and its value parses."""
    manifests = rendered[overlay]
    data = settings_data(manifests)
    names = set(data) | {variable["name"] for variable in container(manifests).get("env", [])}
    assert names <= SETTINGS | OTHER_VARIABLES, names - SETTINGS - OTHER_VARIABLES
    assert SECRETS_DIR in names
    # The Sentinel and Cluster URL forms are the Redis client's to check, in its own tests.
    values: dict[str, Any] = {
        name.removeprefix(ENV_PREFIX).lower(): value
        for name, value in data.items()
        if name not in (REDIS_URL, SECRETS_DIR)
    }
    Settings(_env_file=None, **values)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_names_its_redis_and_lets_the_pods_reach_its_ports(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    """The URL's form is the overlay's topology; the NetworkPolicy opens each host's port."""
    manifests = rendered[overlay]
    url = settings_data(manifests)[REDIS_URL]
    assert url.startswith(SCHEMES[overlay])
    hosts = urlsplit(url).netloc.rpartition("@")[2].split(",")
    ports = {int(host.rpartition(":")[2]) for host in hosts}
    policy = one(manifests, "NetworkPolicy")["spec"]
    open_ports = {port["port"] for rule in policy["egress"] for port in rule.get("ports", [])}
    assert ports <= open_ports
    assert 443 in open_ports  # the back ends' HTTPS APIs
    assert 53 in open_ports  # DNS


def test_the_pods_run_locked_down(rendered: dict[str, list[Manifest]]) -> None:
    """Non-root, read-only root filesystem, no capability, RuntimeDefault seccomp, no token."""
    manifests = rendered["redis"]
    spec = pod_spec(manifests)
    assert spec["automountServiceAccountToken"] is False
    # Else the Service named resolver puts RESOLVER_PORT=tcp://… among the settings.
    assert spec["enableServiceLinks"] is False
    assert one(manifests, "ServiceAccount")["automountServiceAccountToken"] is False
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    security = container(manifests)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    resources = container(manifests)["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


def test_the_pods_run_the_images_one_uvicorn_process(rendered: dict[str, list[Manifest]]) -> None:
    """No command or args: the image's CMD (uvicorn on the app factory, one process) runs."""
    pod = container(rendered["redis"])
    assert "command" not in pod
    assert "args" not in pod
    assert pod["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert "8000" in container_command()


def test_the_probes_ask_routes_the_app_serves(rendered: dict[str, list[Manifest]]) -> None:
    """Startup and liveness on /healthz (no I/O), readiness on /readyz, all routes of the app."""
    pod = container(rendered["redis"])
    paths = {
        probe: pod[probe]["httpGet"]["path"]
        for probe in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert paths == {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    app = create_app(settings_for("redis://127.0.0.1:1/0"))
    routes = {getattr(route, "path", None) for route in app.routes}
    assert set(paths.values()) <= routes


def test_the_grace_period_outlasts_the_pause_and_the_drain(
    rendered: dict[str, list[Manifest]],
) -> None:
    """preStop pause + the image's graceful shutdown (itself above the longest lease) < grace."""
    spec = pod_spec(rendered["redis"])
    pause = container(rendered["redis"])["lifecycle"]["preStop"]["sleep"]["seconds"]
    command = container_command()
    drain = int(command[command.index("--timeout-graceful-shutdown") + 1])
    assert drain >= Settings(_env_file=None).longest_lease_seconds
    assert spec["terminationGracePeriodSeconds"] > pause + drain
    readme = (DEPLOY / "README.md").read_text()
    assert f"terminationGracePeriodSeconds: {spec['terminationGracePeriodSeconds']}" in readme


def test_the_secrets_are_files_where_the_secrets_directory_points(
    rendered: dict[str, list[Manifest]],
) -> None:
    """The Secret is mounted read-only at RESOLVER_SECRETS_DIR, readable by the pod's group."""
    manifests = rendered["redis"]
    spec, pod = pod_spec(manifests), container(manifests)
    mounts = {mount["name"]: mount for mount in pod["volumeMounts"]}
    volume = next(volume for volume in spec["volumes"] if "secret" in volume)
    assert mounts[volume["name"]]["mountPath"] == settings_data(manifests)[SECRETS_DIR]
    assert mounts[volume["name"]]["readOnly"] is True
    assert spec["securityContext"]["fsGroup"] == spec["securityContext"]["runAsGroup"]
    assert volume["secret"]["defaultMode"] & 0o040  # group-readable
    settings_map = one(manifests, "ConfigMap")["metadata"]["name"]
    assert pod["envFrom"] == [{"configMapRef": {"name": settings_map}}]


def test_service_budget_autoscaler_and_policy_all_select_the_deployments_pods(
    rendered: dict[str, list[Manifest]],
) -> None:
    """One set of labels ties them together; the HPA scales this Deployment, from 2 pods up."""
    manifests = rendered["redis"]
    deployment = one(manifests, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert "replicas" not in deployment["spec"]  # the autoscaler owns it
    assert one(manifests, "Service")["spec"]["selector"].items() <= labels.items()
    budget = one(manifests, "PodDisruptionBudget")["spec"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    policy = one(manifests, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"]
    assert policy.items() <= labels.items()
    autoscaler = one(manifests, "HorizontalPodAutoscaler")["spec"]
    assert autoscaler["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert autoscaler["minReplicas"] > budget["maxUnavailable"]
    assert one(manifests, "Service")["spec"]["ports"][0]["targetPort"] == "http"
