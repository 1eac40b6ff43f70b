"""Where the JSON API lives: every resource under one version prefix, so `/` stays the public page's."""

API_PREFIX = "/api/v1"
