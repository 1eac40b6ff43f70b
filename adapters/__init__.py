"""Format codecs. Each lives in its own folder ``adapters/<name>/`` with a README and fixtures.

The registry finds them by walking this package: the core never imports a codec by hand,
so adding a format is adding a folder.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from core.codec import Codec, DecodeContext, DecodeError, NoOptions


class CodecNotFoundError(LookupError):
    pass


@cache
def codecs() -> dict[str, Codec]:
    """Every codec by format name, discovered from ``adapters/<folder>/codec.py``."""
    found: dict[str, Codec] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if not module_info.ispkg or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}.codec")
        codec: Codec = module.CODEC
        if codec.name in found:
            raise RuntimeError(f"two codecs are named {codec.name!r}")
        found[codec.name] = codec
    return found


def get_codec(name: str) -> Codec:
    try:
        return codecs()[name]
    except KeyError:
        known = ", ".join(sorted(codecs()))
        raise CodecNotFoundError(f"unknown format {name!r}; known formats: {known}") from None


__all__ = [
    "Codec",
    "CodecNotFoundError",
    "DecodeContext",
    "DecodeError",
    "NoOptions",
    "codecs",
    "get_codec",
]
