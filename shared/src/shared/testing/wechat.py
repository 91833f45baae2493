"""Helpers for tests that play WeChat against the gateway (no production use)."""

import hashlib


def query_signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's push query signature, computed independently of the code under test."""
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()  # noqa: S324
