"""The ``forward:`` section of a lab config: where and how to push the lab's entities.

```yaml
forward:
  format: ngsi-ld
  url: https://broker.city.example        # the broker's base URL; /ngsi-ld/v1/... is appended
  tenant: citylab                          # optional NGSILD-Tenant
  token_env: CITY_BROKER_TOKEN             # optional bearer token, from an environment variable …
  token_file: /run/secrets/broker-token    # … or a file; never written in the config itself
```

Secrets are read when the forwarder starts and never logged; URLs are shown without user info.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class ForwardConfigError(ValueError):
    pass


class NgsiLdForward(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["ngsi-ld"]
    url: str = Field(min_length=8, max_length=2000)
    tenant: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    token_env: str | None = Field(default=None, pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")
    token_file: Path | None = None
    # The @context the broker should use, sent as a Link header. Unset: each entity carries the official
    # Smart Data Models context of its domain and the NGSI-LD core context.
    context: str | None = None
    batch_size: int = Field(default=100, ge=1, le=1000)  # entities per upsert
    linger_s: float = Field(default=1.0, ge=0, le=60)  # wait this long to fill a batch
    queue_size: int = Field(default=10_000, ge=10, le=1_000_000)  # attribute values held while the broker lags
    max_backoff_s: float = Field(default=60.0, ge=0.1, le=3600)
    timeout_s: float = Field(default=10.0, gt=0, le=300)

    @field_validator("url", "context")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("must have no query or fragment")
        return value

    @model_validator(mode="after")
    def _one_token_source(self) -> NgsiLdForward:
        if self.token_env and self.token_file:
            raise ValueError("give token_env or token_file, not both")
        return self

    @property
    def endpoint(self) -> str:
        """The upsert URL without user info: credentials go in a header, so no log line (httpx's) shows them."""
        return self.masked_url.replace("***@", "").rstrip("/") + "/ngsi-ld/v1/entityOperations/upsert"

    def basic_auth(self) -> tuple[str, str] | None:
        parts = urlsplit(self.url)
        if parts.username is None:
            return None
        return unquote(parts.username), unquote(parts.password or "")

    @property
    def masked_url(self) -> str:
        """The URL with any user info replaced, for logs and /metrics."""
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = "***@" if parts.username or parts.password else ""
        return f"{parts.scheme}://{user}{host}{port}{parts.path}"

    def token(self) -> SecretStr | None:
        """The bearer token from its environment variable or file (read when the forwarder starts)."""
        if self.token_env:
            value = os.environ.get(self.token_env)
            if not value:
                raise ForwardConfigError(f"forward.token_env: environment variable {self.token_env} is not set")
            return SecretStr(value.strip())
        if self.token_file:
            try:
                return SecretStr(self.token_file.read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ForwardConfigError(f"forward.token_file: can't read {self.token_file}: {exc.strerror}") from None
        return None
