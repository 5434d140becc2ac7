"""deploy/prometheus/alerts.yml parses, and its rules name only metrics /metrics exports and
runbook sections that exist."""

import re
from pathlib import Path

import yaml
from django.conf import settings

from minyi.ops.metrics import exported_names

DEPLOY = Path(settings.BASE_DIR) / "deploy" / "prometheus"
RUNBOOK = Path(settings.BASE_DIR) / "docs" / "runbook.md"


def _rules():
    document = yaml.safe_load((DEPLOY / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def _anchor(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_rule_names_only_exported_metrics():
    rules = _rules()
    assert len(rules) >= 10
    used = set()
    for rule in rules:
        assert {"alert", "expr", "labels", "annotations"} <= rule.keys(), rule
        assert rule["labels"]["severity"] in {"warning", "critical"}
        names = set(re.findall(r"\bminyi_[a-z0-9_]+", rule["expr"]))
        assert names, rule["alert"]
        assert names <= exported_names(), f"{rule['alert']}: {names - exported_names()}"
        used |= names
    # The five incidents of docs/runbook.md each have a rule
    assert {
        "minyi_sms_sent_total",
        "minyi_tasks_last_finished_age_seconds",
        "minyi_database_size_bytes",
        "minyi_database_replica_lag_seconds",
        "minyi_tls_certificate_expiry_timestamp_seconds",
    } <= used


def test_every_rule_points_at_a_runbook_section():
    headings = {
        _anchor(line.lstrip("#"))
        for line in RUNBOOK.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }
    for rule in _rules():
        page, _hash, anchor = rule["annotations"]["runbook"].partition("#")
        assert page == "docs/runbook.md" and anchor in headings, rule["alert"]


def test_the_scrape_config_loads_the_rules():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    assert config["rule_files"] == ["alerts.yml"]
    assert config["scrape_configs"][0]["metrics_path"] == "/metrics"
