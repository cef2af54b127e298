-- Extensions the CRM relies on. pg_trgm is a trusted extension, so the database owner may create it without superuser rights.
create extension if not exists pg_trgm;
