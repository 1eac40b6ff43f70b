"""Dependencies as ``Annotated`` aliases: state, clients, labs and access control."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from hub.api.problems import ApiProblem
from hub.api.state import ApiState, DeadLetterAccess
from hub.labs import LabConfig
from hub.read import Limits
from hub.settings import Settings
from hub.store.influxql import InfluxQLClient
from hub.vocabulary import Vocabulary, load_vocabulary

_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <token>`: CITYLAB_API_READ_TOKEN for reads (when set), "
    "CITYLAB_API_ADMIN_TOKEN for replay",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    return state.settings


def get_influx(state: StateDep) -> InfluxQLClient:
    return state.influx


def get_dead_letters(state: StateDep) -> DeadLetterAccess:
    return state.dead_letters


def get_limits(state: StateDep) -> Limits:
    return state.limits


def get_labs(state: StateDep) -> dict[str, LabConfig]:
    """Cached, and reloaded when a file in the labs directory changes (hub/read/labs.py)."""
    return state.labs.current()


SettingsDep = Annotated[Settings, Depends(get_settings)]
LimitsDep = Annotated[Limits, Depends(get_limits)]
InfluxDep = Annotated[InfluxQLClient, Depends(get_influx)]
DeadLettersDep = Annotated[DeadLetterAccess, Depends(get_dead_letters)]
LabsDep = Annotated[dict[str, LabConfig], Depends(get_labs)]
VocabularyDep = Annotated[Vocabulary, Depends(load_vocabulary)]


def _matches(credentials: HTTPAuthorizationCredentials | None, *tokens: SecretStr | None) -> bool:
    if credentials is None:
        return False
    given = credentials.credentials.encode("utf-8")
    # Every configured token is compared, in constant time, whichever matches.
    results = [hmac.compare_digest(given, token.get_secret_value().encode("utf-8")) for token in tokens if token]
    return any(results)


def may_read(settings: Settings, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """Reads are public without CITYLAB_API_READ_TOKEN; with it, the read or the admin token reads.

    The one read check every front end (JSON API, NGSI-LD, open data, the page) asks, each answering
    a refusal in its own form."""
    return settings.api_read_token is None or _matches(credentials, settings.api_read_token, settings.api_admin_token)


def require_read(settings: SettingsDep, credentials: Credentials) -> None:
    if not may_read(settings, credentials):
        raise ApiProblem(401, headers=_UNAUTHORIZED)


def require_admin(settings: SettingsDep, credentials: Credentials) -> None:
    if settings.api_admin_token is None:
        raise ApiProblem(403, "replay is disabled: set CITYLAB_API_ADMIN_TOKEN to enable it")
    if not _matches(credentials, settings.api_admin_token):
        raise ApiProblem(401, headers=_UNAUTHORIZED)


ReadAccess = Depends(require_read)
AdminAccess = Depends(require_admin)
