"""NGSI-LD (OASC MIM1) output of the hub, typed by FIWARE Smart Data Models (MIM2). See docs/interoperability.md."""
