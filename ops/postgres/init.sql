-- The roles and database of Jarvis, made on a new PostgreSQL's first start (compose.yaml mounts
-- this into the postgres image's /docker-entrypoint-initdb.d; psql 15 or later runs it). The
-- passwords come from the environment: JARVIS_DB_PASSWORD and JARVIS_APP_DB_PASSWORD.
--   jarvis      owns the schema and runs the migrations at start-up (DATABASE_URL)
--   jarvis_app  what Jarvis runs as (DATABASE_APP_URL): owns nothing, no superuser, cannot
--               bypass row-level security; the migrations grant it what it may touch
\set ON_ERROR_STOP on
\getenv jarvis_password JARVIS_DB_PASSWORD
\getenv jarvis_app_password JARVIS_APP_DB_PASSWORD
\if :{?jarvis_password}
\else
    \set jarvis_password ''
\endif
\if :{?jarvis_app_password}
\else
    \set jarvis_app_password ''
\endif
SELECT :'jarvis_password' <> '' AND :'jarvis_app_password' <> '' AS passwords_given \gset
\if :passwords_given
\else
    DO $$ BEGIN RAISE EXCEPTION 'JARVIS_DB_PASSWORD and JARVIS_APP_DB_PASSWORD must both be set'; END $$;
\endif

CREATE ROLE jarvis LOGIN PASSWORD :'jarvis_password';
CREATE ROLE jarvis_app LOGIN PASSWORD :'jarvis_app_password'
    NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
CREATE DATABASE jarvis OWNER jarvis;
-- New databases give CONNECT to PUBLIC; say it for jarvis_app all the same.
GRANT CONNECT ON DATABASE jarvis TO jarvis_app;
