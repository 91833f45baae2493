"""tagging-service: tags, rules, segments, service records and the blocklist."""
