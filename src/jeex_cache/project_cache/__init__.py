"""The project data cache: versioned, tagged, expiring entries per project."""
