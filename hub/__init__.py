"""citylab-hub: one hub for the Nordic city labs' sensor data (see docs/architecture.md)."""
