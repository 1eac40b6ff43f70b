"""citylab-hub: one hub for the Nordic city labs' sensor data."""

from hub.model import DecodedMessage, RawObservation, Reading, Rejection

__all__ = ["DecodedMessage", "RawObservation", "Reading", "Rejection"]
