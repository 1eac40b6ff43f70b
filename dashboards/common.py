"""What every dashboard shares: the datasource, variable builders and the macro vocabulary."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import count

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.models import dashboard as models

from dashboards.influxql import PLUGIN_ID, InfluxQL
from hub.ingest.hub_stats import MEASUREMENT as STATS_MEASUREMENT

# The provisioned datasource (provisioning/datasources/citylab.yaml) carries this uid, and
# every query names it, so a dashboard never depends on which datasource is the default.
DATASOURCE_UID = "citylab-influxdb"
DATASOURCE_NAME = "CityLab InfluxDB"
DATASOURCE = models.DataSourceRef(type_val=PLUGIN_ID, uid=DATASOURCE_UID)

# The Grafana release these dashboards are built and tested for; the SDK pin in pyproject.toml
# (grafana-foundation-sdk 1769699379!11.6.0) generates the 11.6 schema.
GRAFANA_IMAGE = "grafana/grafana:11.6.3"

FOLDER_UID = "citylab"

# Each dashboard's fixed uid (its file is <uid>.json); links between dashboards are built from these.
CITIES_UID = "citylab-cities"
LAB_DETAIL_UID = "citylab-lab-detail"
HUB_HEALTH_UID = "citylab-hub-health"
FOLDER_TITLE = "City Lab"

# The hub writes its self-observation to STATS_MEASUREMENT (hub/ingest/hub_stats.py); it is not a quantity.
# A Grafana variable regex (JavaScript) that keeps every measurement except hub_stats.
QUANTITY_REGEX = f"/^(?!{STATS_MEASUREMENT}$).+$/"


def citylab_dashboard(title: str, uid: str, description: str, *, time_from: str, refresh: str) -> dash.Dashboard:
    """The settings every City Lab dashboard shares: fixed uid, tag, browser time, read-only."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["citylab"])
        .timezone("browser")
        .time(time_from, "now")
        .refresh(refresh)
        .readonly()
    )


def dashboard_link(title: str, uid: str) -> dash.DashboardLink:
    """A link in the dashboard's header to another City Lab dashboard, keeping the time range."""
    return dash.DashboardLink(title).type(models.DashboardLinkType.LINK).url(f"/d/{uid}").keep_time(True)


def query(statement: str, ref_id: str = "A") -> InfluxQL:
    return InfluxQL(statement).ref_id(ref_id).datasource(DATASOURCE)


def influx_variable(
    name: str, label: str, statement: str, *, multi: bool = False, regex: str | None = None, description: str = ""
) -> dash.QueryVariable:
    variable = (
        dash.QueryVariable(name)
        .label(label)
        .description(description)
        .datasource(DATASOURCE)
        .query(statement)
        .refresh(models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(models.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
    )
    if multi:
        # Start on "All": every device or quantity of the lab, until the viewer narrows it.
        everything = models.VariableOption(selected=True, text=["All"], value=["$__all"])
        variable = variable.multi(True).include_all(True).current(everything)
    if regex:
        variable = variable.regex(regex)
    return variable


def thresholds(*steps: tuple[float | None, str]) -> dash.ThresholdsConfig:
    return (
        dash.ThresholdsConfig()
        .mode(models.ThresholdsMode.ABSOLUTE)
        .steps([models.Threshold(value=value, color=color) for value, color in steps])
    )


def transformation(
    transform_id: str, options: dict[str, object], *, ref_id: str | None = None
) -> models.DataTransformerConfig:
    """A Grafana transformation; ``ref_id`` limits it to one query's frames."""
    matcher = models.MatcherConfig(id_val="byRefId", options=ref_id) if ref_id else None
    return models.DataTransformerConfig(id_val=transform_id, options=options, filter_val=matcher)


def number_panels(builders: Iterable[cogbuilder.Builder[models.Panel]]) -> list[cogbuilder.Builder[models.Panel]]:
    """Give panels stable ids in reading order, so links and the JSON diff stay put."""
    numbered = []
    ids = count(1)
    for panel in builders:
        numbered.append(panel.id(next(ids)))  # type: ignore[attr-defined]
    return numbered
