"""The one shape every format codec has: bytes in, raw observations out."""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from core.model import DecodedMessage, KeyMapping


class DecodeError(ValueError):
    """A payload this codec can't read. The message says what is wrong and where."""


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_NO_OPTIONS = NoOptions()


class DecodeContext(NamedTuple):
    """What a codec may know besides the payload: the topic and its source's options.

    A NamedTuple, as one is made per message (see core/model.py)."""

    topic: str = ""
    # When the hub received the message: SenML relative times count from it.
    received_ns: int = 0
    options: BaseModel = _NO_OPTIONS


class Codec:
    """Base class for format codecs. Subclasses set ``name`` and implement ``decode``.

    A codec parses; it never maps keys to quantities, converts units or resolves times:
    that is the normaliser's job, so every format gets the same rules. Options that say what a
    key means are handed to the normaliser through ``option_mappings``.
    """

    name: ClassVar[str]
    options_model: ClassVar[type[BaseModel]] = NoOptions

    def decode(self, payload: bytes, context: DecodeContext) -> DecodedMessage:
        raise NotImplementedError

    def option_mappings(self, options: BaseModel) -> tuple[KeyMapping, ...]:
        """The key meanings these (parsed) options declare, e.g. the ``json`` codec's ``values``.

        The codec emits each ``key`` as an observation's key, never the quantity itself; the hub
        adds these to the source's own mappings, checked and resolved like any other. ``where`` is
        relative to the options ("values.0"). Most formats declare none.
        """
        return ()

    def parse_options(self, options: dict[str, Any]) -> BaseModel:
        try:
            return self.options_model.model_validate(options)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(options)'}: {err['msg']}" for err in exc.errors()
            )
            raise ValueError(problems) from None
