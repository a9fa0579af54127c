"""User sessions with project access rights."""
