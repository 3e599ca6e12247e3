"""Inbound order mail: MIME walking, raw storage and spool, customer and line matching, the pipeline."""
