"""Settings of the NGSI-LD API (prefix ``CITYLAB_NGSI_``); its range and bucket limits are the JSON API's."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NgsiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYLAB_NGSI_", extra="ignore")

    # Entities per page: the NGSI-LD default, and the most one request may ask for.
    default_limit: int = Field(default=20, ge=1)
    max_entities: int = Field(default=1000, ge=1)
    # Temporal queries read readings, so they page fewer entities and cap the instances.
    max_temporal_entities: int = Field(default=100, ge=1, le=100)
    max_instances: int = Field(default=10_000, ge=1)  # per attribute of one entity
    max_instances_total: int = Field(default=100_000, ge=1)  # in one response
    # The hub's public base URL (e.g. https://hub.example.org): @context links name it. Unset: the
    # request's own base URL.
    public_url: str | None = None
