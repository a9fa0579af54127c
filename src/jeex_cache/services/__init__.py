"""The application facade (``CacheManager``) that wires domain services to a backend."""
