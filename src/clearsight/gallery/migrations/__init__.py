"""Alembic migrations of the gallery store (run by clearsight.gallery.store.migrate)."""
