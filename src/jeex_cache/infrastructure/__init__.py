"""Backends (memory, Redis) implementing the domain's repository protocols, and resilience."""
