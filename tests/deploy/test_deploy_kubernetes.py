"""The kustomize base (deploy/kubernetes): `kubectl kustomize` renders it, every object
passes the Kubernetes JSON schema (strict: an unknown or misspelt field fails), and every
container and probe runs a real `headwater` command."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from deploy_files import (
    DEPLOY,
    IMAGE,
    IMAGE_UID,
    check_command,
    settings_environment,
    shell_command,
    tool,
)

from headwater.settings import load_settings

KUBERNETES_VERSION = "1.32.0"
"""The schema version the objects are checked against (this machine's kubectl is 1.32)."""

EXPECTED = {
    ("ConfigMap", "headwater-settings"),
    ("PersistentVolumeClaim", "headwater-remote-logs"),
    ("Job", "headwater-db-migrate"),
    ("Deployment", "headwater-scheduler"),
    ("Deployment", "headwater-dag-processor"),
    ("Deployment", "headwater-triggerer"),
    ("Deployment", "headwater-api-server"),
    ("Deployment", "headwater-celery-worker"),
    ("Service", "headwater-api-server"),
}

LIVENESS_JOB_TYPES = {
    "headwater-scheduler": "scheduler",
    "headwater-dag-processor": "dag_processor",
    "headwater-triggerer": "triggerer",
}
WORKER_PING = (
    'headwater celery status --timeout 10 --output json | grep -qF "\\"headwater@$HOSTNAME\\""'
)
"""The workers' liveness probe: this pod's worker (node name headwater@<host name>, the
default of `headwater celery worker`) answers Celery's ping."""


def render_kustomize_base() -> list[dict[str, Any]]:
    kubectl = tool("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed on this machine: the base cannot be rendered")
    done = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "kubernetes")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    return render_kustomize_base()


def _pod_specs(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        obj["metadata"]["name"]: obj["spec"]["template"]["spec"]
        for obj in objects
        if obj["kind"] in ("Deployment", "Job")
    }


def probe_command(probe: dict[str, Any]) -> list[str]:
    """The headwater words of an exec probe (`sh -c "exec headwater ..."` or a plain list)."""
    command = probe["exec"]["command"]
    if command[:2] == ["sh", "-c"]:
        return shell_command(command[2])
    assert command[0] == "headwater", command
    return list(command[1:])


def test_kustomize_renders_the_expected_objects(rendered: list[dict[str, Any]]) -> None:
    names = {(obj["kind"], obj["metadata"]["name"]) for obj in rendered}
    assert names == EXPECTED
    for obj in rendered:
        assert obj["apiVersion"] and obj["kind"] and obj["metadata"]["name"]
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "headwater"
    replicas = {
        o["metadata"]["name"]: o["spec"]["replicas"]
        for o in rendered
        if "replicas" in o.get("spec", {})
    }
    assert replicas["headwater-scheduler"] == 2
    assert replicas["headwater-celery-worker"] == 2


@pytest.mark.parametrize("source", ["rendered base", "secret.example.yaml"])
def test_objects_pass_the_kubernetes_schema(rendered: list[dict[str, Any]], source: str) -> None:
    objects = (
        rendered
        if source == "rendered base"
        else list(yaml.safe_load_all((DEPLOY / "kubernetes" / source).read_text()))
    )
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            raise AssertionError(
                f"{obj['kind']} {obj['metadata']['name']}: {exc.message} at {list(exc.path)}"
            ) from None


def test_the_schema_check_catches_a_misspelt_field(rendered: list[dict[str, Any]]) -> None:
    deployment = next(o for o in rendered if o["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    with pytest.raises(kubernetes_validate.ValidationError, match="'replica' was unexpected"):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_every_container_and_probe_runs_a_real_headwater_command(
    rendered: list[dict[str, Any]],
) -> None:
    for name, pod in _pod_specs(rendered).items():
        for container in pod["containers"]:
            where = f"{name}/{container['name']}"
            assert container["image"] == IMAGE, where
            command = [*container["command"], *container.get("args", [])]
            assert command[0] == "headwater", where
            check_command(command[1:], where)
            for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = container.get(kind)
                if not probe or "exec" not in probe:
                    continue
                check_command(probe_command(probe), f"{where} {kind}")


def test_probes_resources_and_security(rendered: list[dict[str, Any]]) -> None:
    pods = _pod_specs(rendered)
    for name, pod in pods.items():
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == IMAGE_UID, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod["containers"]:
            assert container["resources"]["requests"]["cpu"], name
            assert container["resources"]["requests"]["memory"], name
            assert container["resources"]["limits"]["memory"], name
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert {
                e.get("configMapRef", e.get("secretRef"))["name"] for e in container["envFrom"]
            } == {
                "headwater-settings",
                "headwater-secrets",
            }, name
    for name, job_type in LIVENESS_JOB_TYPES.items():
        (container,) = pods[name]["containers"]
        words = probe_command(container["livenessProbe"])
        assert words[:2] == ["jobs", "check"], name
        assert words[words.index("--job-type") + 1] == job_type, name
        assert words[words.index("--hostname") + 1] == "$HOSTNAME", name
    (worker,) = pods["headwater-celery-worker"]["containers"]
    assert worker["livenessProbe"]["exec"]["command"] == ["sh", "-c", WORKER_PING]
    (api,) = pods["headwater-api-server"]["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/api/v1/health"
    assert api["livenessProbe"]["httpGet"]["path"] == "/api/v1/version"
    assert api["readinessProbe"]["httpGet"]["port"] == api["ports"][0]["name"] == "http"


def test_the_api_paths_the_probes_use_exist() -> None:
    from headwater.web.api.monitor import router
    from headwater.web.app import API_PREFIX

    paths = {API_PREFIX + route.path for route in router.routes}  # type: ignore[attr-defined]
    assert {"/api/v1/health", "/api/v1/version"} <= paths


def test_configmap_and_secret_are_valid_settings(
    rendered: list[dict[str, Any]], tmp_path: Path
) -> None:
    (configmap,) = [o for o in rendered if o["kind"] == "ConfigMap"]
    secret = yaml.safe_load((DEPLOY / "kubernetes" / "secret.example.yaml").read_text())
    settings = load_settings(
        settings_environment({**configmap["data"], **secret["stringData"]}, tmp_path)
    )
    assert settings.scheduler.executor == "celery"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.api.host == "0.0.0.0"


def test_pods_that_write_or_read_task_logs_mount_the_remote_log_folder(
    rendered: list[dict[str, Any]],
) -> None:
    (configmap,) = [o for o in rendered if o["kind"] == "ConfigMap"]
    folder = configmap["data"]["HEADWATER__LOGGING__REMOTE_LOG_FOLDER"]
    pods = _pod_specs(rendered)
    for name in ("headwater-scheduler", "headwater-celery-worker", "headwater-api-server"):
        (container,) = pods[name]["containers"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pods[name]["volumes"]}
        claim = volumes[mounts[folder]]["persistentVolumeClaim"]["claimName"]
        assert claim == "headwater-remote-logs", name
