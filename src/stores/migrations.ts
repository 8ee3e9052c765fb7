/**
 * Schema migrations, numbered by position: migration N takes a store from schema N-1 to N. A store
 * records its schema version in bert_ts_meta; opening it applies the missing ones in order, each in
 * its own transaction. Append only: never edit a migration that has shipped.
 */

export const SQLITE_MIGRATIONS: readonly string[] = [
  // 1: documents, their vectors, and the provenance the vectors reference.
  `
  CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    error TEXT,
    seen_run INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    done_at REAL
  );
  CREATE INDEX documents_state ON documents (state, id);
  CREATE INDEX documents_done_at ON documents (done_at);
  CREATE TABLE provenance (id INTEGER PRIMARY KEY, json TEXT NOT NULL UNIQUE);
  CREATE TABLE vectors (
    doc_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    window_index INTEGER NOT NULL,
    span_start INTEGER NOT NULL,
    span_end INTEGER NOT NULL,
    token_count INTEGER NOT NULL,
    truncated INTEGER NOT NULL,
    provenance_id INTEGER NOT NULL REFERENCES provenance (id),
    vector BLOB NOT NULL,
    PRIMARY KEY (doc_id, window_index)
  );
  CREATE TABLE runs (id INTEGER PRIMARY KEY, started_at REAL NOT NULL, finished_at REAL);
  `,
];

/** PostgreSQL + pgvector. `{dim}` is replaced by the space's dimension when the vectors table is made. */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE EXTENSION IF NOT EXISTS vector;
  CREATE TABLE documents (
    id TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    source TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    error TEXT,
    seen_run BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    done_at TIMESTAMPTZ,
    done_by TEXT
  );
  CREATE INDEX documents_pending ON documents (id) WHERE state = 'pending';
  CREATE INDEX documents_done_at ON documents (done_at);
  CREATE TABLE provenance (id BIGSERIAL PRIMARY KEY, json TEXT NOT NULL UNIQUE);
  CREATE TABLE runs (id BIGSERIAL PRIMARY KEY, started_at TIMESTAMPTZ NOT NULL DEFAULT now(), finished_at TIMESTAMPTZ);
  `,
];
