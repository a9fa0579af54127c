"""Exact sliding-window rate limits."""
