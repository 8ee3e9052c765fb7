/**
 * A store from a LOCATION: a `postgres://` / `postgresql://` URL, or a SQLite file path (anything else).
 */
import { SqliteStore } from "./sqlite-store.js";
import type { CorpusStore } from "./store.js";

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** Opens the store; `dimension` sizes a new PostgreSQL vector column. */
export async function openStore(location: string, dimension?: number): Promise<CorpusStore> {
  if (isPostgresUrl(location)) {
    // node-postgres is loaded only for PostgreSQL stores.
    const { PostgresStore } = await import("./postgres-store.js");
    return PostgresStore.open(location, dimension);
  }
  return SqliteStore.open(location);
}
