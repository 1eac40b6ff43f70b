"""Payload bytes to readings: codec, then normaliser. Shared by the service and ``citylab decode``."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel

from adapters import Codec, DecodeContext, DecodeError, get_codec
from core.model import NormaliseResult, RejectCode, Rejection
from hub.labs import LabConfig, Source
from hub.normalise import Normaliser
from hub.routing import Route

DEFAULT_MAX_PAYLOAD = 256 * 1024


@dataclass(slots=True)
class Processed:
    format_name: str
    result: NormaliseResult = field(default_factory=NormaliseResult)
    # Set when the whole message failed (not decodable): nothing in ``result`` then.
    failure: Rejection | None = None


class Pipeline:
    def __init__(self, normaliser: Normaliser | None = None, max_payload: int = DEFAULT_MAX_PAYLOAD) -> None:
        self.normaliser = normaliser or Normaliser()
        self.max_payload = max_payload
        self._codecs: dict[str, Codec] = {}  # get_codec's answers, looked up once per format

    def process(
        self,
        payload: bytes,
        *,
        format_name: str,
        received_ns: int,
        topic: str = "",
        lab: LabConfig | None = None,
        source: Source | None = None,
    ) -> Processed:
        if len(payload) > self.max_payload:
            return Processed(
                format_name,
                failure=Rejection(RejectCode.OVERSIZED, f"payload of {len(payload)} bytes exceeds {self.max_payload}"),
            )
        codec = self._codecs.get(format_name)
        if codec is None:
            codec = self._codecs[format_name] = get_codec(format_name)
        options = source.codec_options if source is not None and source.format == format_name else None
        if options is None:
            options = _options_for(codec, source)
        try:
            decoded = codec.decode(payload, DecodeContext(topic, received_ns, options))
        except DecodeError as exc:
            return Processed(format_name, failure=Rejection(RejectCode.DECODE_ERROR, f"{format_name}: {exc}"))
        except RecursionError:
            return Processed(
                format_name, failure=Rejection(RejectCode.DECODE_ERROR, f"{format_name}: nested too deeply")
            )
        result = self.normaliser.normalise(
            decoded, received_ns=received_ns, format_name=format_name, lab=lab, source=source, topic=topic
        )
        return Processed(format_name, result)

    def process_routed(self, route: Route, payload: bytes, *, topic: str, received_ns: int) -> Processed:
        """Process a message with its route's format, lab and source (what the service does with every one)."""
        return self.process(
            payload,
            format_name=route.source.format,
            received_ns=received_ns,
            topic=topic,
            lab=route.lab,
            source=route.source,
        )


def _options_for(codec: Codec, source: Source | None) -> BaseModel:
    """The source's codec options, parsed once per source; the codec's defaults without a source."""
    if source is None:
        return codec.options_model()
    if source.format == codec.name:
        return source.codec_options
    return codec.parse_options(source.options)  # a source read with another format (tests, `citylab decode`)
