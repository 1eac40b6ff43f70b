"""NGSI-LD entities and notifications (FIWARE Smart Data Models)."""
