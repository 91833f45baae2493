"""blocklist."""
