"""Pushing the latest entities to a city's own NGSI-LD broker, beside ingest and never blocking it."""
