"""What the API and the dashboard share over HTTP: request dependencies (the served state,
the settings, the caller's role), responses (fast JSON, CSV downloads) and metrics."""
