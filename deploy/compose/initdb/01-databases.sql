-- One database per service on one PostgreSQL server: a service never reads
-- another service's database (each can later move to its own server through
-- <SERVICE>_DATABASE_URL).
--
-- The postgres image runs this once, on an empty data directory, as
-- POSTGRES_USER (who then owns the databases). It is idempotent, so it can
-- also be run by hand against a managed server:
--   psql "postgresql://admin@host/postgres" -f deploy/compose/initdb/01-databases.sql
SELECT format('CREATE DATABASE %I', name)
FROM unnest(ARRAY[
    'qunyun_gateway',
    'qunyun_identity',
    'qunyun_campaign',
    'qunyun_tagging',
    'qunyun_messaging',
    'qunyun_metrics'
]) AS name
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = name)
\gexec
