"""SenML (RFC 8428) JSON packs."""
