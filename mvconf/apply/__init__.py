"""Carrying out plans: stale checks, the threshold, executors, the journal and rollback."""
