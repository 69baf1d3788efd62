"""Alembic environment of both databases: runs on the connection `clearsight.db.migrate` hands over.

`migrate` puts the database's name, metadata and version table in the config's
attributes; each database keeps its own version table so both can share one
PostgreSQL database.
"""

from alembic import context

from clearsight.db.migrate import SCHEMAS

attributes = context.config.attributes
schema = SCHEMAS[attributes.get("database", "main")]
connection = attributes.get("connection")
if connection is None:  # pragma: no cover - only via the `alembic` command line
    from sqlalchemy import create_engine

    connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()

context.configure(
    connection=connection,
    target_metadata=schema.metadata,
    version_table=schema.version_table,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
