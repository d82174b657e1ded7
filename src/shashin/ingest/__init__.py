"""Ingest: find photo files (scan) and turn them into stored channel outputs (pipeline)."""
