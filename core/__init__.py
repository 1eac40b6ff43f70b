"""The small core that the hub and the format codecs both depend on, and that depends on neither.

- ``core.model``: raw observations, decoded messages, readings and rejection codes;
- ``core.codec``: the codec contract (bytes in, raw observations out);
- ``core.timeutil``: time parsing that keeps nanoseconds;
- ``core.names``: lab and city slugs, device ids.
"""
