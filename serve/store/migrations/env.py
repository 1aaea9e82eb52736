"""Alembic's environment: the store opens a connection and hands it over (serve.store.migrate)."""

from alembic import context

from serve.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
