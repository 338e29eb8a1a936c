"""The alerting rules and the Grafana dashboard in deploy/observability: valid PromQL that
promtool accepts, alerts that fire when their unit tests say, and only metrics the service
exports."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from resolver.observability.metrics import Metrics
from tests.support.promtool import ensure_promtool

OBSERVABILITY = Path(__file__).resolve().parents[2] / "deploy" / "observability"
RULES = OBSERVABILITY / "alerts.yml"
DASHBOARD = OBSERVABILITY / "grafana-dashboard.json"
# What names a metric of ours in a query (label names such as http_route do not match).
METRIC = re.compile(r"\b(?:resolver|http_server)_[a-z0-9_]+\b")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}


@pytest.fixture(scope="module")
def promtool() -> str:
    found = ensure_promtool()
    if found is None:
        pytest.skip("promtool is missing and cannot be installed here (Debian's prometheus)")
    return found


def exported() -> set[str]:
    """Every sample name the service's registry can produce."""
    names = set()
    for family in Metrics().registry.collect():
        names |= {family.name + suffix for suffix in SUFFIXES[family.type]}
    return names


def dashboard_queries() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queries += [
        variable["query"]["query"]
        for variable in dashboard["templating"]["list"]
        if variable["type"] == "query"
    ]
    return queries


def rule_queries() -> list[str]:
    rules = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def test_the_alerting_rules_pass_promtool_check(promtool: str) -> None:
    """`promtool check rules` finds every rule valid."""
    checked = subprocess.run(  # noqa: S603  # promtool and our own file
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_alerts_fire_as_their_unit_tests_say(promtool: str) -> None:
    """`promtool test rules`: each alert fires on its trouble, and not before its time."""
    tested = subprocess.run(  # noqa: S603  # promtool and our own files
        [promtool, "test", "rules", "alerts.test.yml"],
        cwd=OBSERVABILITY,
        capture_output=True,
        text=True,
        check=False,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_dashboard_query_is_valid_promql(promtool: str, tmp_path: Path) -> None:
    """Each panel's query, with Grafana's variables filled in, passes promtool as a rule."""
    filled = [
        query.replace("$__rate_interval", "5m").replace("$backend", ".*")
        for query in dashboard_queries()
        if not query.startswith("label_values(")
    ]
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{number}", "expr": query}
                    for number, query in enumerate(filled)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    checked = subprocess.run(  # noqa: S603  # promtool and a file of ours
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize("source", ["dashboard", "rules"])
def test_every_metric_named_is_one_the_service_exports(source: str) -> None:
    """No panel or alert watches a metric that does not exist (a typo would stay silent)."""
    queries = dashboard_queries() if source == "dashboard" else rule_queries()
    named = {name for query in queries for name in METRIC.findall(query)}
    assert named
    assert named <= exported(), named - exported()
    assert all(METRIC.search(query) for query in queries)


def test_every_exported_metric_is_on_the_dashboard() -> None:
    """The dashboard shows every metric the service exports."""
    named = {name for query in dashboard_queries() for name in METRIC.findall(query)}
    families = {family.name for family in Metrics().registry.collect()}
    shown = {family for family in families if any(name.startswith(family) for name in named)}
    assert shown == families
