"""Background task queues and their workers."""
