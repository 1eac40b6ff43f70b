"""Open data the portals harvest: daily CSV files per city and quantity, and a DCAT-AP 3 catalogue."""
