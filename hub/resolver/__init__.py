"""The key resolver: how a payload key becomes a quantity and a unit, in one place.

``KeyResolver.resolve`` for the normaliser, ``KeyResolver.reverse`` for the simulators' encoders;
``resolver_for`` gives the one for a source. The layers and their data are described in
``hub/resolver/resolver.py`` and ``hub/resolver/tables.py``.
"""

from hub.resolver.keys import loose
from hub.resolver.resolver import KeyResolver, KeyRoute, ProfileRules, SourceLike, resolver_for
from hub.resolver.tables import (
    IGNORE,
    TESTDATA,
    TIME,
    AliasData,
    AliasTable,
    FormatAliases,
    Layer,
    Profile,
    ProfileRegistry,
    Resolution,
    ResolverDataError,
    load_aliases,
    load_profiles,
    shipped_aliases,
    shipped_profiles,
)

__all__ = [
    "IGNORE",
    "TESTDATA",
    "TIME",
    "AliasData",
    "AliasTable",
    "FormatAliases",
    "KeyResolver",
    "KeyRoute",
    "Layer",
    "Profile",
    "ProfileRegistry",
    "ProfileRules",
    "Resolution",
    "ResolverDataError",
    "SourceLike",
    "load_aliases",
    "load_profiles",
    "loose",
    "resolver_for",
    "shipped_aliases",
    "shipped_profiles",
]
