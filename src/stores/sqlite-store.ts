/**
 * The embedded default store: one SQLite file (better-sqlite3: synchronous prepared statements in
 * explicit transactions). Vectors are float32 BLOBs, bit for bit what the encoder returned; search
 * is exact (every vector scored, streamed in blocks), best first.
 *
 * Crash safety: WAL journal; vectors and the `done` mark go in one transaction, so a killed process
 * leaves each document either done with all its vectors or pending with none.
 * A file that is not a bert-ts store (another SQLite database, or not SQLite at all) is inspected
 * read-only and refused untouched.
 */
import { createRequire } from "node:module";
import { existsSync, statSync } from "node:fs";
import type BetterSqlite3 from "better-sqlite3";
import { contentHash } from "./content-hash.js";
import { SQLITE_MIGRATIONS } from "./migrations.js";
import { scoreBlock, TopK } from "./top-k.js";
import {
  requireSameSpace,
  StoreError,
  type Claim,
  type CorpusStore,
  type DocumentInput,
  type IngestCounts,
  type SearchHit,
  type StoreStatus,
  type VectorProvenance,
  type VectorRecord,
  type VectorSpace,
} from "./store.js";

type Database = BetterSqlite3.Database;

/** better-sqlite3 is a native module: load it only when a SQLite store is opened, with a clear error if it is missing. */
function openDatabase(path: string, options: BetterSqlite3.Options): Database {
  let Driver: typeof BetterSqlite3;
  try {
    Driver = createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3;
  } catch (err) {
    throw new StoreError(`SQLite stores need the better-sqlite3 package, which did not load (${(err as Error).message}); reinstall bert-ts with a C++ compiler available`);
  }
  return new Driver(path, options);
}

/** Rows read per step of an exact search: large enough to amortise the query, small enough to stay in cache-friendly memory. */
const SEARCH_BLOCK_ROWS = 4096;
/** Largest vector set kept in memory between searches (beyond it, every search streams from the file). */
const MATRIX_CACHE_BYTES = 1 << 30;

export class SqliteStore implements CorpusStore {
  private constructor(
    private readonly db: Database,
    readonly location: string,
  ) {}

  static open(path: string): SqliteStore {
    if (existsSync(path)) {
      const st = statSync(path);
      if (!st.isFile()) throw new StoreError(`${path} is not a regular file, so it cannot be a SQLite store`);
      if (st.size > 0) inspectExisting(path);
    }
    let db: Database;
    try {
      db = openDatabase(path, {});
      db.pragma("journal_mode = WAL");
      // NORMAL in WAL mode never corrupts the file; a power cut may undo the last commits, whose
      // documents are then simply pending again.
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
      db.pragma("busy_timeout = 10000");
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new StoreError(`Cannot open SQLite store ${path}: ${(err as Error).message}`);
    }
    migrate(db, path);
    return new SqliteStore(db, path);
  }

  async space(): Promise<VectorSpace | null> {
    const row = this.db.prepare("SELECT value FROM bert_ts_meta WHERE key = 'space'").get() as { value: string } | undefined;
    return row ? (JSON.parse(row.value) as VectorSpace) : null;
  }

  async bindSpace(space: VectorSpace, provenance: VectorProvenance): Promise<void> {
    const stored = await this.space();
    requireSameSpace(this.location, stored, space);
    if (!stored) {
      this.db.prepare("INSERT INTO bert_ts_meta (key, value) VALUES ('space', ?)").run(JSON.stringify(space));
    }
    this.provenanceId = this.provenanceRow(provenance);
  }

  private provenanceId: number | null = null;
  /** Writes through this connection (data_version only counts other connections' commits). */
  private writes = 0;

  private provenanceRow(provenance: VectorProvenance): number {
    const json = JSON.stringify(provenance);
    this.db.prepare("INSERT OR IGNORE INTO provenance (json) VALUES (?)").run(json);
    return (this.db.prepare("SELECT id FROM provenance WHERE json = ?").get(json) as { id: number }).id;
  }

  async beginRun(): Promise<number> {
    return Number(this.db.prepare("INSERT INTO runs (started_at) VALUES (?)").run(Date.now() / 1000).lastInsertRowid);
  }

  async upsertDocuments(run: number, documents: readonly DocumentInput[]): Promise<IngestCounts> {
    this.writes++;
    const counts: IngestCounts = { added: 0, changed: 0, unchanged: 0 };
    const find = this.db.prepare("SELECT content_hash FROM documents WHERE id = ?");
    const insert = this.db.prepare(
      "INSERT INTO documents (id, content_hash, text, source, state, seen_run, updated_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
    );
    const change = this.db.prepare(
      "UPDATE documents SET content_hash = ?, text = ?, source = ?, state = 'pending', error = NULL, done_at = NULL, seen_run = ?, updated_at = ? WHERE id = ?",
    );
    const dropVectors = this.db.prepare("DELETE FROM vectors WHERE doc_id = ?");
    const seen = this.db.prepare("UPDATE documents SET seen_run = ?, source = ? WHERE id = ?");
    const now = Date.now() / 1000;
    this.db.transaction(() => {
      for (const d of documents) {
        const hash = contentHash(d.text);
        const existing = find.get(d.id) as { content_hash: string } | undefined;
        if (!existing) {
          insert.run(d.id, hash, d.text, d.source, run, now);
          counts.added++;
        } else if (existing.content_hash !== hash) {
          dropVectors.run(d.id);
          change.run(hash, d.text, d.source, run, now, d.id);
          counts.changed++;
        } else {
          seen.run(run, d.source, d.id);
          counts.unchanged++;
        }
      }
    })();
    return counts;
  }

  async finishRun(run: number, prune: boolean): Promise<number> {
    this.writes++;
    let removed = 0;
    this.db.transaction(() => {
      if (prune) removed = this.db.prepare("DELETE FROM documents WHERE seen_run < ?").run(run).changes;
      this.db.prepare("UPDATE runs SET finished_at = ? WHERE id = ?").run(Date.now() / 1000, run);
    })();
    return removed;
  }

  async claimPending(limit: number, _worker?: string): Promise<Claim | null> {
    if (this.provenanceId === null) throw new StoreError("bindSpace() must come before claiming documents");
    const rows = this.db
      .prepare("SELECT id, text, content_hash AS contentHash FROM documents WHERE state = 'pending' ORDER BY id LIMIT ?")
      .all(limit) as { id: string; text: string; contentHash: string }[];
    if (rows.length === 0) return null;
    const provenanceId = this.provenanceId;
    const insert = this.db.prepare(
      "INSERT INTO vectors (doc_id, window_index, span_start, span_end, token_count, truncated, provenance_id, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    );
    const dropVectors = this.db.prepare("DELETE FROM vectors WHERE doc_id = ?");
    // Only documents whose text is still the one claimed are marked: a concurrent ingest may have changed them.
    const markDone = this.db.prepare("UPDATE documents SET state = 'done', error = NULL, done_at = ? WHERE id = ? AND content_hash = ?");
    const markFailed = this.db.prepare("UPDATE documents SET state = 'failed', error = ? WHERE id = ? AND content_hash = ?");
    const hashOf = new Map(rows.map((r) => [r.id, r.contentHash]));
    return {
      documents: rows,
      commit: async (vectors, failures) => {
        const now = Date.now() / 1000;
        this.writes++;
        this.db.transaction(() => {
          const written = new Set<string>();
          for (const v of vectors) {
            const hash = hashOf.get(v.docId);
            if (hash === undefined) throw new StoreError(`Vector for document ${v.docId}, which this claim does not hold`);
            if (!written.has(v.docId)) {
              dropVectors.run(v.docId);
              written.add(v.docId);
            }
            insert.run(v.docId, v.window, v.start, v.end, v.tokenCount, v.truncated ? 1 : 0, provenanceId, vectorBytes(v.vector));
          }
          for (const id of written) markDone.run(now, id, hashOf.get(id));
          for (const f of failures) markFailed.run(f.error, f.id, hashOf.get(f.id));
        })();
      },
      release: async () => {},
    };
  }

  /** Nothing deferred: search scans the vectors exactly. */
  async finishPending(): Promise<void> {}

  async retryFailed(): Promise<number> {
    return this.db.prepare("UPDATE documents SET state = 'pending', error = NULL WHERE state = 'failed'").run().changes;
  }

  /**
   * Exact cosine top-k, all queries in one pass over the vectors. The vectors are kept in memory
   * between searches (up to MATRIX_CACHE_BYTES) and re-read only when the file changed — by this
   * connection or another (PRAGMA data_version) — so repeated queries run at memory speed.
   */
  async search(queries: readonly Float32Array[], k: number): Promise<SearchHit[][]> {
    const space = await this.space();
    if (!space) return queries.map(() => []);
    for (const q of queries) {
      if (q.length !== space.dimension) throw new StoreError(`Expected a query of ${space.dimension} dimensions for ${this.location} but received ${q.length}`);
    }
    const dim = space.dimension;
    const tops = queries.map(() => new TopK<number>(k));
    const scoreRows = (block: Float32Array, rowids: Float64Array, rows: number) =>
      queries.forEach((q, qi) => scoreBlock(q, block, rows, dim, (row, score) => tops[qi].offer(score, rowids[row])));
    const cached = this.cachedMatrix(dim);
    if (cached) scoreRows(cached.vectors, cached.rowids, cached.rowids.length);
    else this.scanVectors(dim, scoreRows);
    const details = this.db.prepare(
      "SELECT v.doc_id AS id, v.window_index AS window, v.span_start AS start, v.span_end AS end, d.text AS text FROM vectors v JOIN documents d ON d.id = v.doc_id WHERE v.rowid = ?",
    );
    return tops.map((top) => top.sorted().map(({ score, item }) => ({ ...(details.get(item) as Omit<SearchHit, "score">), score })));
  }

  private matrix: { version: string; vectors: Float32Array; rowids: Float64Array } | null = null;

  /** Every vector in one array, when it fits the budget; refreshed when the store changed. */
  private cachedMatrix(dim: number): { vectors: Float32Array; rowids: Float64Array } | null {
    const version = `${String(this.db.pragma("data_version", { simple: true }))}/${this.writes}`;
    if (this.matrix?.version === version) return this.matrix;
    const count = (this.db.prepare("SELECT COUNT(*) AS n FROM vectors").get() as { n: number }).n;
    if (count * dim * 4 > MATRIX_CACHE_BYTES) {
      this.matrix = null;
      return null;
    }
    const vectors = new Float32Array(count * dim);
    const rowids = new Float64Array(count);
    let at = 0;
    this.scanVectors(dim, (block, ids, rows) => {
      vectors.set(block.subarray(0, rows * dim), at * dim);
      rowids.set(ids.subarray(0, rows), at);
      at += rows;
    });
    this.matrix = { version, vectors: vectors.subarray(0, at * dim), rowids: rowids.subarray(0, at) };
    return this.matrix;
  }

  /** Streams the vectors in blocks of SEARCH_BLOCK_ROWS rows (row-major float32, with their rowids). */
  private scanVectors(dim: number, onBlock: (block: Float32Array, rowids: Float64Array, rows: number) => void): void {
    const block = new Float32Array(SEARCH_BLOCK_ROWS * dim);
    const rowids = new Float64Array(SEARCH_BLOCK_ROWS);
    let filled = 0;
    for (const row of this.db.prepare("SELECT rowid, vector FROM vectors").iterate() as IterableIterator<{ rowid: number; vector: Buffer }>) {
      if (row.vector.byteLength !== dim * 4) throw new StoreError(`${this.location}: vector ${row.rowid} has ${row.vector.byteLength} bytes, expected ${dim * 4}; the store is damaged`);
      new Uint8Array(block.buffer, filled * dim * 4, dim * 4).set(row.vector);
      rowids[filled++] = row.rowid;
      if (filled === SEARCH_BLOCK_ROWS) {
        onBlock(block, rowids, filled);
        filled = 0;
      }
    }
    if (filled > 0) onBlock(block, rowids, filled);
  }

  async vectorsOf(id: string): Promise<VectorRecord[]> {
    const rows = this.db
      .prepare("SELECT window_index, span_start, span_end, token_count, truncated, vector FROM vectors WHERE doc_id = ? ORDER BY window_index")
      .all(id) as { window_index: number; span_start: number; span_end: number; token_count: number; truncated: number; vector: Buffer }[];
    return rows.map((r) => ({
      docId: id,
      window: r.window_index,
      start: r.span_start,
      end: r.span_end,
      tokenCount: r.token_count,
      truncated: r.truncated === 1,
      vector: bytesToVector(r.vector),
    }));
  }

  async status(): Promise<StoreStatus> {
    const counts = this.db.prepare("SELECT state, COUNT(*) AS n FROM documents GROUP BY state").all() as { state: string; n: number }[];
    const n = (state: string) => counts.find((c) => c.state === state)?.n ?? 0;
    const vectors = (this.db.prepare("SELECT COUNT(*) AS n FROM vectors").get() as { n: number }).n;
    const recent = this.db.prepare("SELECT COUNT(*) AS n, MIN(done_at) AS first, MAX(done_at) AS last FROM documents WHERE done_at > ?").get(Date.now() / 1000 - 60) as {
      n: number;
      first: number | null;
      last: number | null;
    };
    const span = recent.first !== null && recent.last !== null ? recent.last - recent.first : 0;
    return {
      documents: n("pending") + n("done") + n("failed"),
      done: n("done"),
      pending: n("pending"),
      failed: n("failed"),
      vectors,
      recentRate: recent.n > 1 && span > 0 ? recent.n / span : null,
      space: await this.space(),
    };
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * Refuses, without writing a byte, a file that is not a bert-ts store: not SQLite at all, damaged,
 * or another application's database.
 */
function inspectExisting(path: string): void {
  let db: Database | undefined;
  try {
    db = openDatabase(path, { readonly: true, fileMustExist: true });
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    if (!tables.includes("bert_ts_meta")) {
      throw new StoreError(
        `${path} is a SQLite database of another application (tables: ${tables.slice(0, 8).join(", ") || "none"}); it was not modified. Choose another --store file.`,
      );
    }
    const check = db.pragma("quick_check(1)", { simple: true });
    if (check !== "ok") {
      const first = String(check).split("\n").find((line) => line.trim() && !line.startsWith("***")) ?? String(check);
      throw new StoreError(`${path} is a damaged SQLite database (quick_check: ${first.trim()}); it was not modified`);
    }
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError(`${path} is not a usable SQLite store (${(err as Error).message}); it was not modified`);
  } finally {
    db?.close();
  }
}

function migrate(db: Database, path: string): void {
  db.exec("CREATE TABLE IF NOT EXISTS bert_ts_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const row = db.prepare("SELECT value FROM bert_ts_meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  const current = row ? Number(row.value) : 0;
  const latest = SQLITE_MIGRATIONS.length;
  if (current > latest) throw new StoreError(`${path} was written by a newer bert-ts (schema ${current}; this one knows ${latest}); upgrade bert-ts`);
  for (let version = current + 1; version <= latest; version++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[version - 1]);
      db.prepare("INSERT INTO bert_ts_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(version));
    })();
  }
}

function vectorBytes(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function bytesToVector(b: Buffer): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
