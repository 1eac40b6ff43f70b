"""Open-data settings (prefix ``CITYLAB_OPEN_DATA_``): licence, publisher and the published window."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

CC_BY_4 = "http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"


class OpenDataSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLAB_OPEN_DATA_", extra="ignore")

    # The licence of every file, as a URI (the EU licence vocabulary is what DCAT-AP portals map), and its name.
    license_url: str = CC_BY_4
    license_name: str = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
    publisher_name: str = "Nordic City Lab Hub"
    publisher_url: str | None = None
    # How many UTC days, up to and including today, /open-data/ publishes daily files for.
    days: int = Field(default=31, ge=1, le=366)
    # The hub's public base URL for the catalogue's links; unset: the request's own (or --base-url of the export).
    public_url: str | None = None
    # Most rows of one daily file; a day with more is cut, and says so in its last line.
    max_rows_per_file: int = Field(default=1_000_000, ge=1)
