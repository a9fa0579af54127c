"""Shared infrastructure of every capability: the Redis transport (``core.transport``)."""
