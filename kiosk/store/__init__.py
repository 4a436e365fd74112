"""Persistence of one hall: SQLite schema, migrations and the transactional outbox."""
