"""Estimators. Each family lives in its own module; this package re-exports the public functions lazily."""
