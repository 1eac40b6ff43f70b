"""City lab detail: one lab's devices, per quantity, with silent devices made obvious."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import geomap, statushistory, table, timeseries
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models

from dashboards.common import (
    CITIES_UID,
    DATASOURCE,
    LAB_DETAIL_UID,
    QUANTITY_REGEX,
    citylab_dashboard,
    dashboard_link,
    influx_variable,
    number_panels,
    query,
    thresholds,
    transformation,
)
from dashboards.panels import device_map, fit_view

UID = LAB_DETAIL_UID
TITLE = "City lab detail"

# The filter every panel applies: the chosen lab and its chosen devices.
LAB_FILTER = '"lab" = \'$lab\' AND "device" =~ /^$device$/'
# Every chosen quantity at once, as an InfluxQL measurement list ("pm25","no2").
QUANTITIES = "${quantity:doublequote}"
# How far back the last-seen table looks, so a device silent for days still shows.
LAST_SEEN_WINDOW = "30d"


def _per_device_series() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("$quantity per device")
        .description("Mean per time bucket, one series per device; repeated for each chosen quantity.")
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT mean("value") FROM "$quantity" WHERE {LAB_FILTER} AND $timeFilter '
                'GROUP BY time($__interval), "device" fill(null)'
            ).alias("$tag_device")
        )
        .repeat("quantity")
        .repeat_direction("h")
        .max_per_row(2)
        .span(24)
        .height(8)
    )


def _last_seen() -> table.Panel:
    return (
        table.Panel()
        .title("When each device was last seen")
        .description(
            f"The newest reading of any chosen quantity per device over the last {LAST_SEEN_WINDOW}, oldest "
            "first, so devices that went silent are at the top. A device silent for longer than that is "
            "not listed at all."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT last("value") AS "last value" FROM {QUANTITIES} WHERE {LAB_FILTER} AND $timeFilter '
                'GROUP BY "device"'
            ).as_table()
        )
        .time_from(LAST_SEEN_WINDOW)
        .transformations(
            [
                transformation(
                    "groupBy",
                    {
                        "fields": {
                            "device": {"operation": "groupby", "aggregations": []},
                            "Time": {"operation": "aggregate", "aggregations": ["max"]},
                        }
                    },
                ),
                transformation("organize", {"renameByName": {"Time (max)": "last seen"}}),
                transformation("sortBy", {"sort": [{"field": "last seen", "desc": False}]}),
            ]
        )
        .override_by_name(
            "last seen",
            [
                models.DynamicConfigValue(id_val="unit", value="dateTimeFromNow"),
            ],
        )
        .span(8)
        .height(10)
    )


def _activity() -> statushistory.Panel:
    return (
        statushistory.Panel()
        .title("Device activity")
        .description("Readings per device and quantity per time bucket: red buckets are silent.")
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT count("value") FROM {QUANTITIES} WHERE {LAB_FILTER} AND $timeFilter '
                'GROUP BY time($__interval), "device" fill(0)'
            ).alias("$tag_device ($measurement)")
        )
        .thresholds(thresholds((None, "red"), (1, "green")))
        .color_scheme(dash.FieldColor().mode(models.FieldColorModeId.THRESHOLDS))
        .show_value(common_models.VisibilityMode.NEVER)
        .span(8)
        .height(10)
    )


def _devices_map() -> geomap.Panel:
    return (
        device_map(
            "Devices of $lab",
            "Each device at its last known position, coloured by its latest value of the chosen quantities.",
            query(
                'SELECT last("value") AS "value", last("lat") AS "lat", last("lon") AS "lon" '
                f'FROM {QUANTITIES} WHERE {LAB_FILTER} AND $timeFilter GROUP BY "device"'
            ).as_table(),
            fit_view(),
        )
        .span(8)
        .height(10)
    )


def build() -> models.Dashboard:
    builder = (
        citylab_dashboard(
            TITLE,
            UID,
            "One city lab: its devices, their series, when they were last heard from, and where they are.",
            time_from="now-24h",
            refresh="1m",
        )
        .with_variable(influx_variable("city", "City", 'SHOW TAG VALUES WITH KEY = "city"'))
        .with_variable(influx_variable("lab", "Lab", 'SHOW TAG VALUES WITH KEY = "lab" WHERE "city" = \'$city\''))
        .with_variable(
            influx_variable(
                "quantity",
                "Quantity",
                "SHOW MEASUREMENTS WHERE \"lab\" = '$lab'",
                multi=True,
                regex=QUANTITY_REGEX,
            )
        )
        .with_variable(
            influx_variable(
                "device",
                "Device",
                'SHOW TAG VALUES WITH KEY = "device" WHERE "lab" = \'$lab\'',
                multi=True,
            )
        )
        .link(dashboard_link("Nordic cities compared", CITIES_UID))
    )
    for panel in number_panels([_last_seen(), _devices_map(), _activity(), _per_device_series()]):
        builder = builder.with_panel(panel)
    return builder.build()
