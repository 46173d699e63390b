"""Internal helpers shared by the core modules."""
