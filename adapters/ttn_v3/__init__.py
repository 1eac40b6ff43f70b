"""The Things Stack (TTN v3) uplink messages."""
