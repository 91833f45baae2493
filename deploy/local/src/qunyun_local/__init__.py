"""The local stack: embedded PostgreSQL, the Tansu broker, migrations, topics and every process."""
