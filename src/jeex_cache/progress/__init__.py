"""Progress of long-running operations, and its live event feed."""
