"""Test support: real PostgreSQL and broker per run, per-test databases, app clients."""
