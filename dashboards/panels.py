"""Panel builders more than one dashboard uses."""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import geomap
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as models
from grafana_foundation_sdk.models import geomap as geomap_models

from dashboards.common import DATASOURCE
from dashboards.influxql import InfluxQL


def device_map(title: str, description: str, target: InfluxQL, view: geomap.MapViewConfig) -> geomap.Panel:
    """Markers at each row's ``lat``/``lon``, coloured by its ``value`` (green low, red high)."""
    markers = (
        common_builders.MapLayerOptions()
        .type("markers")
        .name("Devices")
        .location(
            common_builders.FrameGeometrySource()
            .mode(common_models.FrameGeometrySourceMode.COORDS)
            .latitude("lat")
            .longitude("lon")
        )
        .config(
            {
                "showLegend": True,
                "style": {
                    "color": {"field": "value", "fixed": "dark-green"},
                    "opacity": 0.8,
                    "size": {"fixed": 7, "min": 4, "max": 12},
                    "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                    "text": {"field": "device", "fixed": "", "mode": "field"},
                    "textConfig": {"fontSize": 10, "offsetY": -12, "textAlign": "center", "textBaseline": "bottom"},
                },
            }
        )
        .tooltip(True)
    )
    return (
        geomap.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(target)
        .view(view)
        .basemap(common_builders.MapLayerOptions().type("default").name("Basemap"))
        .layers([markers])
        .tooltip(geomap.TooltipOptions().mode(geomap_models.TooltipMode.DETAILS))
        .color_scheme(dash.FieldColor().mode(models.FieldColorModeId.CONTINUOUS_GR_YL_RD))
    )


def fit_view() -> geomap.MapViewConfig:
    """Zoom to wherever the devices are: from Reykjavik to Helsinki, or one lab's street."""
    return geomap.MapViewConfig().id("fit")
