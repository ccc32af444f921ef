"""Ingest jobs: a durable queue of documents to index, worked through in committed batches."""
