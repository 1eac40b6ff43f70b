"""`citylab dashboards push` without a Grafana to talk to: what it sends, and how it fails.

Pushing into a real Grafana is tested in test_grafana_container.py (needs Docker).
"""

from __future__ import annotations

import yaml

from dashboards.build import DATASOURCE_YAML
from dashboards.push import InfluxTarget, credential_from_env
from hub.cli import main
from hub.devstack import free_port


def test_pushed_datasource_matches_the_provisioned_one():
    (provisioned,) = yaml.safe_load(DATASOURCE_YAML.read_text())["datasources"]
    pushed = InfluxTarget("http://influxdb:8086", "citylab", "t0ken").datasource()
    for key in ("name", "uid", "type", "access"):
        assert pushed[key] == provisioned[key], key
    assert pushed["jsonData"] == {**provisioned["jsonData"], "dbName": "citylab"}
    assert pushed["secureJsonData"] == {"httpHeaderValue1": "Token t0ken"}
    assert "secureJsonData" not in InfluxTarget("http://influxdb:8086", "citylab", None).datasource()


def test_credentials_come_from_the_environment(monkeypatch):
    for name in ("GRAFANA_TOKEN", "GRAFANA_USER", "GRAFANA_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert credential_from_env() is None
    monkeypatch.setenv("GRAFANA_USER", "admin")
    monkeypatch.setenv("GRAFANA_PASSWORD", "pw")
    assert credential_from_env() == ("admin", "pw")
    monkeypatch.setenv("GRAFANA_TOKEN", "glsa_x")
    assert credential_from_env() == "glsa_x"


def test_unreachable_grafana_is_a_clear_error_without_secrets(monkeypatch, capsys):
    monkeypatch.setenv("CITYLAB_INFLUX_TOKEN", "influx-secret-value")
    monkeypatch.setenv("GRAFANA_USER", "admin")
    monkeypatch.setenv("GRAFANA_PASSWORD", "grafana-secret-value")
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert main(["dashboards", "push", "--grafana-url", url, "--influx-url", "http://influxdb:8086"]) == 2
    err = capsys.readouterr().err
    assert f"Grafana at {url} is unreachable" in err
    assert "secret-value" not in err


def test_push_needs_an_influx_url_unless_told_to_skip_the_datasource(monkeypatch, capsys):
    monkeypatch.delenv("CITYLAB_INFLUX_URL", raising=False)
    monkeypatch.delenv("CITYLAB_GRAFANA_INFLUX_URL", raising=False)
    assert main(["dashboards", "push", "--grafana-url", "http://127.0.0.1:1"]) == 2
    assert "no InfluxDB URL" in capsys.readouterr().err
