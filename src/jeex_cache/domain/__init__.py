"""The cache domain: value objects, entities, repository contracts and domain services."""
