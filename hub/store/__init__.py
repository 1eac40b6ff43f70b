"""Storage: line protocol, InfluxDB writers (v1 and v2 APIs), InfluxQL queries and the disk spool.

Import from the modules themselves (``hub.store.writers``, ``hub.store.influxql``...).
"""
