"""Mini-program activity ingest: ``POST /mp/v1/activity`` → the gateway's outbox → ``app.activity``."""
