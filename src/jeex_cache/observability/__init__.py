"""Health checks and performance metrics."""
