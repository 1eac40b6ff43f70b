"""Nordic cities compared: the home dashboard. One series per city for the chosen quantity."""

from __future__ import annotations

from grafana_foundation_sdk.builders import barchart, bargauge, geomap, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models

from dashboards.common import (
    CITIES_UID,
    DATASOURCE,
    HUB_HEALTH_UID,
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
from dashboards.references import Guideline, air_quality_guidelines

UID = CITIES_UID
TITLE = "Nordic cities compared"

# Grafana's unit id for µg/m³, the canonical unit of every air-quality quantity.
MICROGRAMS_PER_M3 = "conμgm3"


def _city_series() -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title("$quantity by city")
        .description("Mean of all of a city's devices per time bucket; one series per city.")
        .datasource(DATASOURCE)
        .with_target(
            query(
                'SELECT mean("value") FROM "$quantity" WHERE $timeFilter GROUP BY time($__interval), "city" fill(null)'
            ).alias("$tag_city")
        )
        .span(24)
        .height(9)
        .line_width(2)
        .show_points(common_models.VisibilityMode.NEVER)
        .legend(
            common_builders.VizLegendOptions()
            .show_legend(True)
            .display_mode(common_models.LegendDisplayMode.TABLE)
            .placement(common_models.LegendPlacement.RIGHT)
            .calcs(["mean", "max", "lastNotNull"])
        )
    )


def _latest_per_city() -> bargauge.Panel:
    return (
        bargauge.Panel()
        .title("Latest $quantity per city")
        .description("The most recent reading from any device of each city within the time range.")
        .datasource(DATASOURCE)
        .with_target(
            query('SELECT last("value") FROM "$quantity" WHERE $timeFilter GROUP BY "city"').alias("$tag_city")
        )
        .span(8)
        .height(9)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .display_mode(common_models.BarGaugeDisplayMode.GRADIENT)
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .color_scheme(dash.FieldColor().mode(models.FieldColorModeId.CONTINUOUS_GR_YL_RD))
    )


def _summary_table() -> table.Panel:
    return (
        table.Panel()
        .title("$quantity per city over the range")
        .description(
            "Mean, maximum, minimum and number of readings per city over the whole time range. "
            "Hours with data counts the clock hours in the range in which the city sent at least one "
            "reading of this quantity: compare it with the length of the range to judge coverage."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                'SELECT mean("value") AS "mean", max("value") AS "max", min("value") AS "min", '
                'count("value") AS "readings" FROM "$quantity" WHERE $timeFilter GROUP BY "city"'
            ).as_table()
        )
        .with_target(
            query(
                'SELECT count("value") FROM "$quantity" WHERE $timeFilter GROUP BY time(1h), "city" fill(none)', "B"
            ).alias("$tag_city")
        )
        .transformations(
            [
                transformation("reduce", {"mode": "seriesToRows", "reducers": ["count"]}, ref_id="B"),
                transformation(
                    "organize",
                    {
                        "excludeByName": {"Time": True},
                        "renameByName": {"Field": "city", "Count": "hours with data"},
                        "indexByName": {"city": 0, "mean": 1, "max": 2, "min": 3, "readings": 4, "hours with data": 5},
                    },
                ),
                transformation("joinByField", {"byField": "city", "mode": "outer"}),
            ]
        )
        .span(16)
        .height(9)
        .decimals(2)
        .sort_by([common_builders.TableSortByFieldState().display_name("city")])
    )


def _hour_of_day_profile() -> barchart.Panel:
    return (
        barchart.Panel()
        .title("Hour-of-day profile of $quantity")
        .description(
            "Hourly means grouped by the hour of the day (dashboard time zone), then averaged: the typical "
            "day in each city over the range. InfluxQL has no hour-of-day grouping, so Grafana transforms "
            "the hourly series (format time, group by, grouping to matrix)."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                'SELECT mean("value") AS "mean" FROM "$quantity" WHERE $timeFilter GROUP BY time(1h), "city" fill(none)'
            ).as_table()
        )
        .transformations(
            [
                transformation("formatTime", {"timeField": "Time", "outputFormat": "HH", "useTimezone": True}),
                transformation(
                    "groupBy",
                    {
                        "fields": {
                            "Time": {"operation": "groupby", "aggregations": []},
                            "city": {"operation": "groupby", "aggregations": []},
                            "mean": {"operation": "aggregate", "aggregations": ["mean"]},
                        }
                    },
                ),
                transformation(
                    "groupingToMatrix",
                    {
                        "columnField": "city",
                        "rowField": "Time",
                        "valueField": "mean (mean)",
                    },
                ),
                transformation("sortBy", {"sort": [{"field": "Time\\city"}]}),
            ]
        )
        .x_field("Time\\city")
        .span(12)
        .height(10)
    )


def _devices_map() -> geomap.Panel:
    return (
        device_map(
            "Devices by latest $quantity",
            "Every device that reported this quantity in the range, at its last known position, coloured by "
            "its latest value (green low, red high).",
            query(
                'SELECT last("value") AS "value", last("lat") AS "lat", last("lon") AS "lon" FROM "$quantity" '
                'WHERE $timeFilter GROUP BY "city", "device"'
            ).as_table(),
            fit_view(),
        )
        .span(12)
        .height(10)
    )


def _guideline_panel(guide: Guideline) -> timeseries.Panel:
    who, eu = guide.who, guide.eu
    return (
        timeseries.Panel()
        .title(f"{guide.description}: {guide.period} means against WHO and EU")
        .description(
            f"{guide.period} means per city, in fixed buckets aligned to UTC. Dashed lines: {who.name} "
            f"{who.value:g} µg/m³ (orange) and {eu.name} {eu.value:g} µg/m³ (red). Values come from "
            "hub/data/quantities.yaml."
        )
        .datasource(DATASOURCE)
        .with_target(
            query(
                f'SELECT mean("value") FROM "{guide.quantity}" WHERE $timeFilter '
                f'GROUP BY time({guide.period}), "city" fill(none)'
            ).alias("$tag_city")
        )
        .unit(MICROGRAMS_PER_M3)
        .min(0)
        .thresholds(thresholds((None, "transparent"), (who.value, "orange"), (eu.value, "red")))
        .thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(common_models.GraphThresholdsStyleMode.DASHED)
        )
        .show_points(common_models.VisibilityMode.ALWAYS)
        .axis_soft_max(eu.value)
        .span(12)
        .height(8)
    )


def build() -> models.Dashboard:
    builder = (
        citylab_dashboard(
            TITLE,
            UID,
            "Each Nordic city lab side by side, for one quantity at a time.",
            time_from="now-7d",
            refresh="1m",
        )
        .tooltip(models.DashboardCursorSync.CROSSHAIR)
        .with_variable(
            influx_variable(
                "quantity",
                "Quantity",
                "SHOW MEASUREMENTS",
                regex=QUANTITY_REGEX,
                description="Every quantity stored, except the hub's own statistics.",
            )
        )
        .link(dashboard_link("City lab detail", LAB_DETAIL_UID))
        .link(dashboard_link("Hub health", HUB_HEALTH_UID))
    )
    for panel in number_panels(
        [
            _city_series(),
            _latest_per_city(),
            _summary_table(),
            _hour_of_day_profile(),
            _devices_map(),
        ]
    ):
        builder = builder.with_panel(panel)
    # An open row: its panels follow it at the top level (a collapsed row would hide them).
    builder = builder.with_row(
        dash.Row("Air quality against the WHO 2021 guidelines and EU limits").collapsed(False).id(100)
    )
    for offset, guide in enumerate(air_quality_guidelines()):
        builder = builder.with_panel(_guideline_panel(guide).id(101 + offset))
    return builder.build()
