"""The committed dashboard JSON: fresh, readable by the SDK, and wired to one datasource and defined variables."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import build, influxql
from dashboards.common import DATASOURCE_UID
from dashboards.influxql import InfluxQL, InfluxQLQuery
from hub.cli import main
from tests.dashboards import walk

# Grafana's own variables, and the alias placeholders of the InfluxDB datasource.
BUILT_IN = {"timeFilter", "__interval", "__interval_ms", "__range", "__from", "__to"}
_VARIABLE_USE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")


def test_committed_json_is_what_the_code_builds():
    assert build.stale() == [], "run `citylab dashboards build` and commit the JSON"


def test_build_check_fails_on_stale_json(tmp_path, capsys):
    assert main(["dashboards", "build", "--out", str(tmp_path)]) == 0
    assert main(["dashboards", "build", "--check", "--out", str(tmp_path)]) == 0
    (tmp_path / f"{build.HOME_UID}.json").write_text("{}\n")
    (tmp_path / "orphan.json").write_text("{}\n")
    assert main(["dashboards", "build", "--check", "--out", str(tmp_path)]) == 1
    assert f"{build.HOME_UID}.json, orphan.json" in capsys.readouterr().err
    main(["dashboards", "build", "--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{uid}.json" for uid in build.DASHBOARDS)


@pytest.mark.parametrize("uid", sorted(build.DASHBOARDS))
def test_json_round_trips_through_the_sdk_models(uid):
    influxql.register()
    raw = walk.load(uid)
    model = Dashboard.from_json(raw)
    targets = [t for p in model.panels or [] for t in getattr(p, "targets", None) or []]
    targets += [t for p in model.panels or [] for sub in getattr(p, "panels", []) or [] for t in sub.targets or []]
    assert targets and all(isinstance(t, InfluxQLQuery) for t in targets)
    import json

    assert json.loads(json.dumps(model, cls=JSONEncoder)) == raw


def test_every_dashboard_has_its_fixed_uid_and_the_home_is_the_cities():
    dashboards = walk.all_dashboards()
    assert {d["uid"] for d in dashboards.values()} == set(build.DASHBOARDS) == set(dashboards)
    assert build.HOME_UID == "citylab-cities"


@pytest.mark.parametrize("uid", sorted(build.DASHBOARDS))
def test_every_query_names_the_provisioned_datasource_and_defined_variables(uid):
    provisioned = yaml.safe_load(build.DATASOURCE_YAML.read_text())["datasources"]
    assert [ds["uid"] for ds in provisioned] == [DATASOURCE_UID]
    dashboard = walk.load(uid)
    defined = {v["name"] for v in walk.variables(dashboard)}
    for variable in walk.variables(dashboard):
        assert variable["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}
        assert _used(variable["query"]) <= defined - {variable["name"]}, variable["name"]
    targets = list(walk.targets(uid, dashboard))
    assert targets
    for panel in walk.panels(dashboard):
        assert panel["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}, panel["title"]
        assert _used(panel["title"]) <= defined, panel["title"]
        if "repeat" in panel:
            assert panel["repeat"] in defined
    for target in targets:
        raw = next(t for t in target.panel["targets"] if t["refId"] == target.ref_id)
        assert raw["datasource"] == {"type": "influxdb", "uid": DATASOURCE_UID}, target.where
        assert _used(target.query) - BUILT_IN <= defined, target.where
        # Each $tag_x in an alias needs x in GROUP BY, or Grafana prints it literally.
        for tag in re.findall(r"\$tag_(\w+)", target.alias or ""):
            assert tag in target.group_tags, target.where


@pytest.mark.parametrize("uid", sorted(build.DASHBOARDS))
def test_queries_keep_to_portable_influxql(uid):
    """SELECT and SHOW only; no Flux, no subqueries, no INTO; time only through $timeFilter."""
    dashboard = walk.load(uid)
    statements = [t.query for t in walk.targets(uid, dashboard)] + [v["query"] for v in walk.variables(dashboard)]
    for statement in statements:
        assert re.match(r"^(SELECT|SHOW (MEASUREMENTS|TAG VALUES))\b", statement), statement
        assert "|>" not in statement and "from(bucket" not in statement, statement
        assert "(SELECT" not in statement.upper().replace("( SELECT", "(SELECT"), statement
        assert " INTO " not in statement.upper(), statement
        if statement.startswith("SELECT"):
            assert "$timeFilter" in statement, statement
            assert "now()" not in statement, statement


def test_influxql_builder_encodes_a_raw_query_and_decodes_it_back():
    target = InfluxQL('SELECT mean("value") FROM "pm25" WHERE $timeFilter').ref_id("B").alias("$tag_city").as_table()
    encoded = target.build().to_json()
    assert encoded == {
        "query": 'SELECT mean("value") FROM "pm25" WHERE $timeFilter',
        "rawQuery": True,
        "resultFormat": "table",
        "refId": "B",
        "alias": "$tag_city",
    }
    decoded = InfluxQLQuery.from_json(encoded)
    assert decoded.to_json() == encoded
    with pytest.raises(ValueError, match="not a raw InfluxQL target"):
        InfluxQLQuery.from_json({"query": "x", "refId": "A"})
    with pytest.raises(ValueError, match="resultFormat"):
        InfluxQLQuery.from_json({"query": "x", "rawQuery": True, "resultFormat": "logs"})


def test_provisioning_files_agree_with_each_other():
    provider = yaml.safe_load(build.PROVIDER_YAML.read_text())["providers"][0]
    assert provider["options"]["path"] == build.CONTAINER_JSON_DIR
    (datasource,) = yaml.safe_load(build.DATASOURCE_YAML.read_text())["datasources"]
    assert datasource["jsonData"]["httpHeaderName1"] == "Authorization"
    assert datasource["secureJsonData"]["httpHeaderValue1"] == "Token ${CITYLAB_INFLUX_TOKEN}"
    assert datasource["jsonData"]["dbName"] == "${CITYLAB_INFLUX_BUCKET}"
    assert Path(build.DASHBOARD_JSON_DIR, f"{build.HOME_UID}.json").exists()


def _used(text: str) -> set[str]:
    return {a or b for a, b in _VARIABLE_USE.findall(text)} - {"tag_city", "tag_device", "tag_lab", "tag_reason"}


@pytest.mark.parametrize("uid", sorted(build.DASHBOARDS))
def test_every_dashboard_link_opens_a_dashboard_we_build(uid):
    document = build.render(build.DASHBOARDS[uid]())
    links = json.loads(document)["links"]
    assert links, f"{uid} links to no other dashboard"
    for link in links:
        assert link["url"].removeprefix("/d/") in build.DASHBOARDS, link
