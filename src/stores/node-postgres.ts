/**
 * node-postgres, loaded for PostgreSQL stores only. On Node 20, which has no `navigator`, pg's
 * Cloudflare check constructs a `Response` while it loads, and that pulls in undici: ~50 ms of a
 * worker's start-up for an HTTP client it never uses. Node 21+ defines `navigator.userAgent`
 * ("Node.js/…") and pg skips the probe; the same answer is given here for the length of the load.
 */
import { createRequire } from "node:module";
import type * as NodePostgres from "pg";

export type { Client, ClientConfig, Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from "pg";

function loadNodePostgres(): typeof NodePostgres {
  const require = createRequire(import.meta.url);
  if ("navigator" in globalThis) return require("pg") as typeof NodePostgres;
  Object.defineProperty(globalThis, "navigator", { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true, writable: true });
  try {
    return require("pg") as typeof NodePostgres;
  } finally {
    delete (globalThis as { navigator?: unknown }).navigator;
  }
}

export const pg = loadNodePostgres();
