"""Accuracy over batches, and eval / predict on image files with any backend."""
