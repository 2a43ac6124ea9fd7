"""Helpers for tests that need more than the embedded engine (e.g. a real Elasticsearch node)."""
