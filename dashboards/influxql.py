"""A typed InfluxQL query for Grafana's ``influxdb`` datasource, with its own builder.

The foundation SDK ships builders for many datasources but not for InfluxDB, so this
follows the SDK's custom-query pattern: a ``Dataquery`` variant that encodes itself
with ``to_json``, decodes with ``from_json``, and is registered with the SDK runtime
so ``Dashboard.from_json`` turns stored targets back into ``InfluxQLQuery`` objects.

Only raw InfluxQL is modelled (``rawQuery: true``): the dashboards keep to the subset
InfluxDB 1.x, 2.x (v1 compatibility) and 3.x share, and a raw query states it exactly.
"""

from __future__ import annotations

from typing import Any, Literal, Self, cast, get_args

from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import runtime as cogruntime
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models.dashboard import DataSourceRef

PLUGIN_ID = "influxdb"

ResultFormat = Literal["time_series", "table"]


class InfluxQLQuery(cogvariants.Dataquery):
    """One panel target: an InfluxQL statement plus how Grafana shapes its result."""

    ref_id: str | None
    hide: bool | None
    datasource: DataSourceRef | None
    query: str
    result_format: ResultFormat
    # Series name template, e.g. ``$tag_city``; Grafana fills in tag values per series.
    alias: str | None

    def __init__(
        self,
        query: str = "",
        *,
        ref_id: str | None = None,
        hide: bool | None = None,
        datasource: DataSourceRef | None = None,
        result_format: ResultFormat = "time_series",
        alias: str | None = None,
    ) -> None:
        self.query = query
        self.ref_id = ref_id
        self.hide = hide
        self.datasource = datasource
        self.result_format = result_format
        self.alias = alias

    def to_json(self) -> dict[str, object]:
        payload: dict[str, object] = {
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.ref_id is not None:
            payload["refId"] = self.ref_id
        if self.hide is not None:
            payload["hide"] = self.hide
        if self.datasource is not None:
            payload["datasource"] = self.datasource.to_json()
        if self.alias is not None:
            payload["alias"] = self.alias
        return payload

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        if data.get("rawQuery") is not True or not isinstance(data.get("query"), str):
            raise ValueError(f"not a raw InfluxQL target: {data!r}")
        result_format = data.get("resultFormat", "time_series")
        if result_format not in get_args(ResultFormat):
            raise ValueError(f"unsupported resultFormat {result_format!r}")
        datasource = data.get("datasource")
        return cls(
            data["query"],
            ref_id=data.get("refId"),
            hide=data.get("hide"),
            datasource=DataSourceRef.from_json(datasource) if isinstance(datasource, dict) else None,
            result_format=cast(ResultFormat, result_format),
            alias=data.get("alias"),
        )


def variant_config() -> cogruntime.DataqueryConfig:
    return cogruntime.DataqueryConfig(identifier=PLUGIN_ID, from_json_hook=InfluxQLQuery.from_json)


def register() -> None:
    """Teach the SDK runtime to decode ``influxdb`` targets as ``InfluxQLQuery``."""
    cogruntime.register_dataquery_variant(variant_config())


class InfluxQL(cogbuilder.Builder[InfluxQLQuery]):
    """Builder: ``InfluxQL('SELECT …').ref_id('A').alias('$tag_city')``."""

    def __init__(self, query: str) -> None:
        self._internal = InfluxQLQuery(query)

    def build(self) -> InfluxQLQuery:
        return self._internal

    def ref_id(self, ref_id: str) -> Self:
        self._internal.ref_id = ref_id
        return self

    def hide(self, hide: bool) -> Self:
        self._internal.hide = hide
        return self

    def datasource(self, datasource: DataSourceRef) -> Self:
        self._internal.datasource = datasource
        return self

    def result_format(self, result_format: ResultFormat) -> Self:
        self._internal.result_format = result_format
        return self

    def as_table(self) -> Self:
        return self.result_format("table")

    def alias(self, alias: str) -> Self:
        self._internal.alias = alias
        return self
