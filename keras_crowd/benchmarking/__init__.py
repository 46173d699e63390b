"""Benchmarks that ship with the package (`keras-crowd benchmark`)."""
