"""The Helm chart (deploy/helm/headwater) renders the objects of the kustomize base.

`helm` is not installed here and no package registry this project uses ships it: the tests
that need it skip, saying so. The others render the chart's templates with the small subset
of Helm's template language they are written in (`{{ .Values.x }}`, `{{ .Release.Name }}`,
`| quote`, `toYaml ... | nindent N`; anything else is refused, so the templates stay in it)
and compare each object with the kustomize base's, labels and Helm's annotations aside."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from deploy_files import DEPLOY, tool
from test_deploy_kubernetes import render_kustomize_base

CHART = DEPLOY / "helm" / "headwater"
RELEASE = "headwater"
"""The release name under which the chart's objects have the base's names."""

_ACTION = re.compile(r"(?P<trim>\s*)\{\{(?P<left>-?)\s*(?P<expr>.*?)\s*(?P<right>-?)\}\}")
_PATH = re.compile(r"\.(Values|Release|Chart)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def _lookup(expr: str, values: dict[str, Any]) -> Any:
    match = _PATH.fullmatch(expr)
    if match is None:
        raise ValueError(f"unsupported template value {expr!r}")
    root, path = match.group(1), match.group(2).split(".")[1:]
    scope: Any = {
        "Values": values,
        "Release": {"Name": RELEASE, "Namespace": "default"},
        "Chart": yaml.safe_load((CHART / "Chart.yaml").read_text()),
    }[root]
    for key in path:
        if root == "Chart":
            key = key[0].lower() + key[1:]  # .Chart.AppVersion is appVersion in Chart.yaml
        scope = scope[key]
    return scope


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise ValueError(f"a map or list printed as a scalar: {value!r}")
    return str(value)


def render_template(text: str, values: dict[str, Any]) -> str:
    """``text`` rendered as Helm would, for the subset the chart uses."""

    def action(match: re.Match[str]) -> str:
        if match.group("right"):
            raise ValueError("'-}}' is not used by the chart's templates")
        expr = match.group("expr")
        before = "" if match.group("left") else match.group("trim")
        to_yaml = re.fullmatch(r"toYaml (\S+) \| nindent (\d+)", expr)
        if to_yaml:
            dumped = yaml.safe_dump(_lookup(to_yaml.group(1), values), sort_keys=True)
            pad = " " * int(to_yaml.group(2))
            return before + "\n" + "\n".join(pad + line for line in dumped.rstrip("\n").split("\n"))
        quoted = re.fullmatch(r"(\S+) \| quote", expr)
        if quoted:
            return before + json.dumps(_scalar(_lookup(quoted.group(1), values)))
        return before + _scalar(_lookup(expr, values))

    return _ACTION.sub(action, text)


def render_chart(values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    chart_values = yaml.safe_load((CHART / "values.yaml").read_text())
    objects = []
    for template in sorted((CHART / "templates").glob("*.yaml")):
        text = render_template(template.read_text(), values or chart_values)
        objects += [doc for doc in yaml.safe_load_all(text) if doc]
    return objects


def _without_labels(node: Any) -> Any:
    """The object less what only Helm has: labels (and the selectors made of them), Helm's
    hook annotations, imagePullPolicy."""
    if isinstance(node, dict):
        return {
            key: _without_labels(value)
            for key, value in node.items()
            if key not in ("labels", "annotations", "selector", "imagePullPolicy")
        }
    if isinstance(node, list):
        return [_without_labels(item) for item in node]
    return node


def _by_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def test_chart_renders_the_objects_of_the_kustomize_base() -> None:
    chart = _by_name(render_chart())
    base = _by_name(render_kustomize_base())
    assert sorted(chart) == sorted(base)
    for key, obj in base.items():
        assert _without_labels(chart[key]) == _without_labels(obj), key


def test_chart_selectors_match_their_pods() -> None:
    for obj in render_chart():
        if obj["kind"] == "Deployment":
            selector = obj["spec"]["selector"]["matchLabels"]
            labels = obj["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= labels.items(), obj["metadata"]["name"]
            assert selector["app.kubernetes.io/instance"] == RELEASE
        if obj["kind"] == "Service":
            assert obj["spec"]["selector"]["app.kubernetes.io/component"] == "api-server"


def test_migration_job_is_a_helm_hook_after_the_objects_it_reads() -> None:
    (job,) = [o for o in render_chart() if o["kind"] == "Job"]
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "post-install,post-upgrade"
    assert annotations["helm.sh/hook-delete-policy"] == "before-hook-creation"


def test_values_change_what_is_rendered() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    values["image"]["tag"] = "9.9.9"
    values["scheduler"]["replicas"] = 3
    values["celeryWorker"]["queues"] = "default,special"
    values["settings"]["HEADWATER__SCHEDULER__PARALLELISM"] = "64"
    objects = _by_name(render_chart(values))
    scheduler = objects[("Deployment", "headwater-scheduler")]
    assert scheduler["spec"]["replicas"] == 3
    assert scheduler["spec"]["template"]["spec"]["containers"][0]["image"] == "headwater:9.9.9"
    worker = objects[("Deployment", "headwater-celery-worker")]["spec"]["template"]["spec"]
    assert worker["containers"][0]["command"][3:5] == ["--queues", "default,special"]
    assert (
        objects[("ConfigMap", "headwater-settings")]["data"]["HEADWATER__SCHEDULER__PARALLELISM"]
        == "64"
    )


def test_the_renderer_refuses_what_it_does_not_know() -> None:
    with pytest.raises(
        ValueError, match=re.escape("""unsupported template value 'include "x" .'""")
    ):
        render_template('name: {{ include "x" . }}\n', {})


def _helm() -> str:
    helm = tool("helm")
    if helm is None:
        pytest.skip(
            "the helm binary is not installed on this machine (no package registry this project "
            "reaches ships it); helm lint and helm template run where it exists"
        )
    return helm


def test_helm_lint() -> None:
    helm = _helm()
    done = subprocess.run(
        [helm, "lint", "--strict", str(CHART)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_helm_template_agrees_with_this_renderer(tmp_path: Path) -> None:
    helm = _helm()
    done = subprocess.run(
        [helm, "template", RELEASE, str(CHART)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    by_helm = _by_name([doc for doc in yaml.safe_load_all(done.stdout) if doc])
    assert by_helm == _by_name(render_chart())
