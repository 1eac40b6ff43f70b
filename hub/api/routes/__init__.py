"""One router per resource, joined in hub/api/main.py."""
