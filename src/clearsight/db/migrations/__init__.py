"""The one Alembic environment: branch `main` (gallery, keys, cameras, rules) and branch `events`."""
