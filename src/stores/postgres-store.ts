/**
 * PostgreSQL + pgvector: the store many `bert-ts index --worker` processes share.
 *
 * Work is shared through the database itself: a worker claims a batch of pending documents with
 * `SELECT ... FOR UPDATE SKIP LOCKED` inside a transaction it keeps open while embedding, then
 * writes the vectors and marks the documents done in that same transaction. A worker that dies
 * mid-batch loses its connection, PostgreSQL rolls the transaction back, and the rows (still
 * pending) go to the next worker that asks: nothing is lost, nothing is written twice.
 *
 * Vectors live in a `vector(n)` column with an HNSW index (cosine). They travel in pgvector's
 * binary form (a batch is one `vector[]` parameter), so the float32 bits arrive unchanged and
 * neither side formats or parses decimals. A new store gets its HNSW index once a load is done and
 * it holds 10,000 vectors (finishPending): built over all rows at once it costs a fraction of
 * growing it row by row while the encoders need the same cores. Until then search scans exactly
 * (correct; at that size, as fast).
 * Queries are parameterised throughout.
 */
import { pg, type Client, type ClientConfig, type Pool, type PoolClient, type QueryConfig, type QueryResult, type QueryResultRow } from "./node-postgres.js";
import { contentHash } from "./content-hash.js";
import { POSTGRES_MIGRATIONS } from "./migrations.js";
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

/** HNSW search breadth: pgvector's default (40) loses recall on wide vectors; 200 keeps recall@10 ≥ 0.98 at 100k vectors (bench:index). */
const EF_SEARCH = 200;

/** HNSW is defined up to 2,000 dimensions for `vector`; wider spaces are searched exactly. */
const HNSW_MAX_DIMENSIONS = 2000;

/**
 * Below this many vectors a store has no HNSW index: the exact scan answers in a few milliseconds
 * with perfect recall, and the build (~0.3 s of server CPU per 1,000 MiniLM vectors here) would be
 * pure cost. Weaviate's "dynamic" index switches from flat to HNSW at the same 10,000.
 * BERT_TS_HNSW_MIN_VECTORS overrides it (0: always build).
 */
export const DEFAULT_HNSW_MIN_VECTORS = 10_000;

/** A worker's claim connections: one holds the batch being embedded while the other commits the previous one. */
const CLAIM_CONNECTIONS = 2;

/** The application_name of claim connections, followed by the worker's name: one name per live worker. */
const WORKER_APPLICATION_NAME = "bert-ts worker";

/**
 * Claims walk the pending index in id order and stop after the batch. Without these settings a
 * freshly loaded table (no statistics yet) is planned as a bitmap scan of every pending row plus a
 * sort, at every claim: O(pending) per batch, O(n²) over a load. They last for the claim's
 * transaction only; the batch's writes that follow are keyed by id and use the same indexes either way.
 */
const CLAIM_PLAN_SETTINGS = "SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off";

/**
 * Claim sizing: a full batch ($1) while there is plenty of work; near the end of a load shared by
 * W > 1 live workers (processes with claim connections to this database, counted by
 * application_name), ceil(pending / 2W) but at least an eighth of a batch, so the last batches
 * shrink and the workers run dry together instead of one idling while another embeds a full last
 * batch (guided self-scheduling; the floor keeps the tail from turning into one-document
 * transactions). `pending` counts up to 2W batches of pending documents, those other workers hold
 * included.
 */
export const CLAIM_SQL = `SELECT id, text, content_hash FROM documents WHERE state = 'pending' ORDER BY id
  LIMIT (
    SELECT CASE WHEN workers.n <= 1 THEN $1::int ELSE LEAST($1::int, GREATEST(ceil($1::int / 8.0), ceil(pending.n / (2.0 * workers.n))))::int END
    FROM (SELECT count(DISTINCT application_name) AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name LIKE '${WORKER_APPLICATION_NAME} %') AS workers,
         LATERAL (SELECT count(*) AS n FROM (SELECT 1 FROM documents WHERE state = 'pending' LIMIT 2 * $1::int * workers.n) AS first_pending) AS pending
  )
  FOR UPDATE SKIP LOCKED`;

/** A batch's vectors, one array parameter per column ($8: the vectors in pgvector's binary form). */
const INSERT_VECTORS_SQL = `INSERT INTO vectors (doc_id, window_index, span_start, span_end, token_count, truncated, provenance_id, embedding)
  SELECT d, w, s, e, t, tr, $7::bigint, v
  FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::bool[], $8::vector[]) AS x(d, w, s, e, t, tr, v)`;

const MARK_DONE_SQL = "UPDATE documents SET state = 'done', error = NULL, done_at = now(), done_by = $2 WHERE id = ANY($1::text[])";

export interface PostgresStoreOptions {
  /** The vector count from which finishPending() builds the HNSW index (default BERT_TS_HNSW_MIN_VECTORS, else 10,000). */
  hnswMinVectors?: number;
  /**
   * This worker's name among the store's workers (default `pid N`): its claim connections' application_name is
   * "bert-ts worker NAME", and claims count the distinct names connected to size themselves.
   */
  workerId?: string;
}

function hnswMinVectorsFromEnv(): number {
  const raw = process.env.BERT_TS_HNSW_MIN_VECTORS;
  if (raw === undefined || raw === "") return DEFAULT_HNSW_MIN_VECTORS;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new StoreError(`BERT_TS_HNSW_MIN_VECTORS must be a whole number ≥ 0, not ${JSON.stringify(raw)}`);
  return n;
}

/** A URL with its password hidden, for messages. */
function shown(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "postgres://(unparsable URL)";
  }
}

export class PostgresStore implements CorpusStore {
  private provenanceId: number | null = null;
  /** pgvector's `vector` type id in this database: binary array parameters name their element type. */
  private vectorTypeOid: number | null = null;
  /** Connections for claims (pipeline mode): every one open, and the ones free for the next claim. */
  private readonly claimClients = new Set<Client>();
  private readonly idleClaimClients: Client[] = [];
  /** Claim connections being opened ahead of the first claim (prepareClaims). */
  private readonly connectingClaimClients: Promise<Client | null>[] = [];
  /** The dimension of the space bound (bindSpace), null before. */
  private boundDimension: number | null = null;
  /** The pool's open connections (close() lets the process exit without waiting for them to close). */
  private readonly poolClients = new Set<Client>();
  /** Whether the vectors table exists (a store opened without a dimension gets it when a space is bound). */
  private hasVectorsTable = false;
  private closed = false;

  private constructor(
    private readonly pool: Pool,
    private readonly clientConfig: ClientConfig,
    readonly location: string,
    private readonly hnswMinVectors: number,
    private readonly workerId: string,
  ) {}

  static async open(url: string, dimension?: number, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const location = shown(url);
    const hnswMinVectors = options.hnswMinVectors ?? hnswMinVectorsFromEnv();
    // application_name lets an operator (and the crash tests) see which process holds which claim.
    const clientConfig: ClientConfig = { connectionString: url, connectionTimeoutMillis: 15000, application_name: `bert-ts pid ${process.pid}` };
    const pool = new pg.Pool({ ...clientConfig, max: 4 });
    // An idle client's error (the server restarting) must not crash the process; the next query reports it.
    pool.on("error", () => {});
    const store = new PostgresStore(pool, clientConfig, location, hnswMinVectors, options.workerId ?? `pid ${process.pid}`);
    pool.on("connect", (client) => store.poolClients.add(client));
    pool.on("remove", (client) => store.poolClients.delete(client));
    try {
      await store.migrate(dimension);
    } catch (err) {
      await pool.end().catch(() => {});
      if (err instanceof StoreError) throw err;
      throw new StoreError(`Cannot use PostgreSQL store ${location}: ${(err as Error).message}`);
    }
    return store;
  }

  private async migrate(dimension: number | undefined): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Every worker opens the store: when it is up to date (the usual case), one round trip says so.
      const current = await client
        .query<{ version: string | null; vectors: boolean; vector_type: string | null }>(
          "SELECT (SELECT value FROM bert_ts_meta WHERE key = 'schema_version') AS version, to_regclass('vectors') IS NOT NULL AS vectors, to_regtype('vector')::oid::int8 AS vector_type",
        )
        .catch((err: unknown) => {
          if ((err as { code?: string }).code === "42P01") return null; // no bert_ts_meta yet: a new store
          throw err;
        });
      const row = current?.rows[0];
      if (row && Number(row.version) === POSTGRES_MIGRATIONS.length && (row.vectors || dimension === undefined)) {
        this.hasVectorsTable = row.vectors;
        if (row.vector_type !== null) this.vectorTypeOid = Number(row.vector_type);
        return;
      }
    } finally {
      client.release();
    }
    await this.migrateLocked(dimension);
  }

  private async migrateLocked(dimension: number | undefined): Promise<void> {
    return inTransaction(this.pool, async (client) => {
      // One migrator at a time across every worker that starts together.
      await client.query("SELECT pg_advisory_xact_lock(hashtext('bert_ts_migrate'))");
      await client.query("CREATE TABLE IF NOT EXISTS bert_ts_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      const row = await client.query<{ value: string }>("SELECT value FROM bert_ts_meta WHERE key = 'schema_version'");
      const current = row.rows.length > 0 ? Number(row.rows[0].value) : 0;
      if (current === 0) {
        const foreign = await client.query<{ n: string }>(
          "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name IN ('documents', 'vectors', 'provenance', 'runs')",
        );
        if (Number(foreign.rows[0].n) > 0) {
          throw new StoreError(`${this.location} already has tables named documents/vectors/provenance/runs that bert-ts did not make; use another database or schema`);
        }
      }
      if (current > POSTGRES_MIGRATIONS.length) {
        throw new StoreError(`${this.location} was written by a newer bert-ts (schema ${current}); upgrade bert-ts`);
      }
      for (let version = current + 1; version <= POSTGRES_MIGRATIONS.length; version++) {
        await client.query(POSTGRES_MIGRATIONS[version - 1]);
        await client.query(
          "INSERT INTO bert_ts_meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
          [String(version)],
        );
      }
      // The vector column's width is the space's: made with the first space bound.
      const hasVectors = await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'vectors'");
      if (hasVectors.rows.length === 0 && dimension !== undefined) {
        if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16000) throw new StoreError(`Cannot store vectors of ${dimension} dimensions in pgvector`);
        await client.query(`
          CREATE TABLE vectors (
            doc_id TEXT NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            window_index INTEGER NOT NULL,
            span_start INTEGER NOT NULL,
            span_end INTEGER NOT NULL,
            token_count INTEGER NOT NULL,
            truncated BOOLEAN NOT NULL,
            provenance_id BIGINT NOT NULL REFERENCES provenance (id),
            embedding vector(${dimension}) NOT NULL,
            PRIMARY KEY (doc_id, window_index)
          )`);
        // No HNSW index yet: the first load goes in without it and finishPending() builds it once.
      }
      this.hasVectorsTable = hasVectors.rows.length > 0 || dimension !== undefined;
    });
  }

  private async vectorType(): Promise<number> {
    if (this.vectorTypeOid === null) {
      // Resolved as the ::vector casts in the SQL are: through the search path.
      const r = await this.pool.query<{ oid: number }>("SELECT 'vector'::regtype::oid::int8 AS oid");
      this.vectorTypeOid = Number(r.rows[0].oid);
    }
    return this.vectorTypeOid;
  }

  async space(): Promise<VectorSpace | null> {
    const r = await this.pool.query<{ value: string }>("SELECT value FROM bert_ts_meta WHERE key = 'space'");
    return r.rows.length > 0 ? (JSON.parse(r.rows[0].value) as VectorSpace) : null;
  }

  async bindSpace(space: VectorSpace, provenance: VectorProvenance): Promise<void> {
    // A store opened before its space was known (the CLI opens it before the model loads) gets its vector column now.
    if (!this.hasVectorsTable) await this.migrateLocked(space.dimension);
    // The first worker's space wins; every other must equal it. One statement: the row inserted, or
    // the one already there (a statement's snapshot does not see its own insert, so never both).
    const bound = await this.pool.query<{ value: string }>(
      `WITH inserted AS (INSERT INTO bert_ts_meta (key, value) VALUES ('space', $1) ON CONFLICT (key) DO NOTHING RETURNING value)
       SELECT value FROM inserted UNION ALL SELECT value FROM bert_ts_meta WHERE key = 'space'`,
      [JSON.stringify(space)],
    );
    requireSameSpace(this.location, JSON.parse(bound.rows[0].value) as VectorSpace, space);
    this.boundDimension = space.dimension;
    const json = JSON.stringify(provenance);
    const r = await this.pool.query<{ id: string }>(
      `WITH inserted AS (INSERT INTO provenance (json) VALUES ($1) ON CONFLICT (json) DO NOTHING RETURNING id)
       SELECT id FROM inserted UNION ALL SELECT id FROM provenance WHERE json = $1`,
      [json],
    );
    this.provenanceId = Number(r.rows[0].id);
  }

  async beginRun(): Promise<number> {
    const r = await this.pool.query<{ id: string }>("INSERT INTO runs DEFAULT VALUES RETURNING id");
    return Number(r.rows[0].id);
  }

  async upsertDocuments(run: number, documents: readonly DocumentInput[]): Promise<IngestCounts> {
    if (documents.length === 0) return { added: 0, changed: 0, unchanged: 0 };
    const ids = documents.map((d) => d.id);
    const hashes = documents.map((d) => contentHash(d.text));
    return inTransaction(this.pool, async (client) => {
      // Lock the batch's existing rows first (in id order, so two ingesters cannot deadlock): a row a
      // worker is embedding waits here until its batch commits, so stale vectors are removed below.
      const existing = await client.query<{ id: string; content_hash: string }>(
        "SELECT id, content_hash FROM documents WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE",
        [ids],
      );
      const before = new Map(existing.rows.map((r) => [r.id, r.content_hash]));
      const counts: IngestCounts = { added: 0, changed: 0, unchanged: 0 };
      const changedIds: string[] = [];
      documents.forEach((d, i) => {
        const old = before.get(d.id);
        if (old === undefined) counts.added++;
        else if (old !== hashes[i]) {
          counts.changed++;
          changedIds.push(d.id);
        } else counts.unchanged++;
      });
      if (changedIds.length > 0) await client.query("DELETE FROM vectors WHERE doc_id = ANY($1::text[])", [changedIds]).catch(noVectorsTableYet);
      // One statement for the batch: new rows pending; changed text pending again; unchanged only marked seen.
      await client.query(
        `INSERT INTO documents (id, content_hash, text, source, state, seen_run)
         SELECT * , 'pending', $5::bigint FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
         ON CONFLICT (id) DO UPDATE SET
           seen_run = excluded.seen_run,
           source = excluded.source,
           text = CASE WHEN documents.content_hash = excluded.content_hash THEN documents.text ELSE excluded.text END,
           state = CASE WHEN documents.content_hash = excluded.content_hash THEN documents.state ELSE 'pending' END,
           error = CASE WHEN documents.content_hash = excluded.content_hash THEN documents.error ELSE NULL END,
           done_at = CASE WHEN documents.content_hash = excluded.content_hash THEN documents.done_at ELSE NULL END,
           updated_at = CASE WHEN documents.content_hash = excluded.content_hash THEN documents.updated_at ELSE now() END,
           content_hash = excluded.content_hash`,
        [ids, hashes, documents.map((d) => d.text), documents.map((d) => d.source), run],
      );
      return counts;
    });
  }

  async finishRun(run: number, prune: boolean): Promise<number> {
    let removed = 0;
    if (prune) removed = (await this.pool.query("DELETE FROM documents WHERE seen_run < $1", [run])).rowCount ?? 0;
    await this.pool.query("UPDATE runs SET finished_at = now() WHERE id = $1", [run]);
    return removed;
  }

  async claimPending(limit: number, worker: string): Promise<Claim | null> {
    if (this.provenanceId === null) throw new StoreError("bindSpace() must come before claiming documents");
    if (!Number.isInteger(limit) || limit < 1) throw new StoreError(`Expected a positive integer claim size but received ${limit}`);
    const provenanceId = this.provenanceId;
    const vectorTypeOid = await this.vectorType();
    const client = await this.claimClient();
    let open = true;
    // A connection goes back for the next claim only after a clean COMMIT or ROLLBACK.
    const finish = async (sql: "COMMIT" | "ROLLBACK") => {
      if (!open) return;
      open = false;
      let clean = false;
      try {
        await client.query(sql);
        clean = true;
      } finally {
        this.returnClaimClient(client, clean);
      }
    };
    try {
      const [, r] = await pipelined<{ id: string; text: string; content_hash: string }>(client, [
        { text: `BEGIN; ${CLAIM_PLAN_SETTINGS}` },
        { name: "bert_ts_claim", text: CLAIM_SQL, values: [limit] },
      ]);
      if (r.rows.length === 0) {
        await finish("ROLLBACK");
        return null;
      }
      return {
        documents: r.rows.map((row) => ({ id: row.id, text: row.text, contentHash: row.content_hash })),
        // Every statement, COMMIT included, is written to the connection before the first answer is
        // read: the batch's writes and commit run on the server while the caller embeds the next batch.
        commit: async (vectors, failures) => {
          const statements: QueryConfig[] = [];
          try {
            // Arrays go in PostgreSQL's binary form, built once: node-postgres would print each as a
            // quoted text literal (the ids three times), on the thread that also runs the encoder.
            const ids = textArrayBinary([...new Set(vectors.map((v) => v.docId))]);
            statements.push({ name: "bert_ts_delete_vectors", text: "DELETE FROM vectors WHERE doc_id = ANY($1::text[])", values: [ids] });
            for (let at = 0; at < vectors.length; at += 500) {
              const part = vectors.slice(at, at + 500);
              statements.push({
                name: "bert_ts_insert_vectors",
                text: INSERT_VECTORS_SQL,
                values: [
                  textArrayBinary(part.map((v) => v.docId)),
                  int4ArrayBinary(part.map((v) => v.window)),
                  int4ArrayBinary(part.map((v) => v.start)),
                  int4ArrayBinary(part.map((v) => v.end)),
                  int4ArrayBinary(part.map((v) => v.tokenCount)),
                  boolArrayBinary(part.map((v) => v.truncated)),
                  provenanceId,
                  vectorArrayBinary(part.map((v) => v.vector), vectorTypeOid),
                ],
              });
            }
            statements.push({
              name: "bert_ts_mark_done",
              text: MARK_DONE_SQL,
              values: [ids, worker],
            });
            if (failures.length > 0) {
              statements.push({
                text: "UPDATE documents SET state = 'failed', error = f.error FROM unnest($1::text[], $2::text[]) AS f(id, error) WHERE documents.id = f.id",
                values: [failures.map((f) => f.id), failures.map((f) => f.error)],
              });
            }
          } catch (err) {
            // Nothing was sent (a vector PostgreSQL cannot hold): give the batch back.
            await finish("ROLLBACK").catch(() => {});
            throw err;
          }
          open = false;
          let clean = false;
          try {
            // After a failed statement the transaction is aborted, the later ones fail, and COMMIT
            // rolls back: pipelined() reports the first failure.
            await pipelined(client, [...statements, { text: "COMMIT" }]);
            clean = true;
          } finally {
            this.returnClaimClient(client, clean);
          }
        },
        release: () => finish("ROLLBACK"),
      };
    } catch (err) {
      await finish("ROLLBACK").catch(() => {});
      throw err;
    }
  }

  /**
   * Opens, in the background, the two connections claims use (one holds the batch being embedded
   * while the other commits the previous one), so a worker that calls this before loading its
   * model finds them ready: their start-up runs on the server while the model loads. Idempotent.
   */
  prepareClaims(): void {
    // claimClients holds every claim connection, the ones still opening included.
    while (!this.closed && this.claimClients.size < CLAIM_CONNECTIONS) {
      // A connection that fails here is reported by the claim that would have used it (it opens its own).
      const connecting = this.connectClaimClient().then(
        async (client) => {
          await warmUp(client);
          return client;
        },
        () => null,
      );
      this.connectingClaimClients.push(connecting);
    }
  }

  /**
   * An idle claim connection, or a new one. Claims use their own connections in node-postgres'
   * pipeline mode (each query written at once, answers read in order), not the pool's.
   */
  private async claimClient(): Promise<Client> {
    const idle = this.idleClaimClients.pop();
    if (idle) return idle;
    const connecting = this.connectingClaimClients.shift();
    if (connecting) {
      const client = await connecting;
      if (client && this.claimClients.has(client)) return client;
    }
    return this.connectClaimClient();
  }

  private async connectClaimClient(): Promise<Client> {
    if (this.closed) throw new StoreError(`${this.location} is closed`);
    // Named apart from the pool's connections: claims count the live workers by it (CLAIM_SQL).
    const client = new pg.Client({ ...this.clientConfig, pipeline: true, application_name: `${WORKER_APPLICATION_NAME} ${this.workerId}` });
    this.claimClients.add(client);
    const drop = () => {
      this.claimClients.delete(client);
      const at = this.idleClaimClients.indexOf(client);
      if (at >= 0) this.idleClaimClients.splice(at, 1);
    };
    // A connection that fails (the server restarting) is dropped; the query in flight reports the error.
    client.on("error", drop);
    client.on("end", drop);
    try {
      await client.connect();
    } catch (err) {
      drop();
      throw err;
    }
    return client;
  }

  private returnClaimClient(client: Client, clean: boolean): void {
    if (clean && !this.closed && this.claimClients.has(client)) this.idleClaimClients.push(client);
    else {
      this.claimClients.delete(client);
      client.end().catch(() => {});
    }
  }

  /**
   * Builds the HNSW index if the vectors table lacks it and holds at least hnswMinVectors rows (a
   * new store after its first load, or a small one grown past the threshold). Under
   * an advisory lock, so workers that run dry together build it once; the build blocks other
   * workers' writes for its duration (a share lock), never their claims.
   */
  async finishPending(): Promise<void> {
    if (this.boundDimension !== null && this.boundDimension > HNSW_MAX_DIMENSIONS) return;
    // The usual answer (already built, or too small) in one round trip that reads no catalog table
    // (a join over pg_index and pg_class cost the server ~30 ms of CPU in a worker's connection):
    // the index by the name bert-ts gives it. Anything else goes on to the careful check below.
    const quick = await this.pool
      .query<{ indexed: boolean; enough: boolean }>(
        "SELECT to_regclass('vectors_hnsw') IS NOT NULL AS indexed, (SELECT count(*) FROM (SELECT 1 FROM vectors LIMIT $1) AS first_rows) >= $1 AS enough",
        [this.hnswMinVectors],
      )
      .catch((err: unknown) => {
        // No vectors table yet (nothing was ever bound): nothing to build.
        if ((err as { code?: string }).code === "42P01") return null;
        throw err;
      });
    const q = quick?.rows[0];
    if (!q || q.indexed || !q.enough) return;
    return inTransaction(this.pool, async (client) => {
      const table = await client.query<{ dims: number | null }>(
        "SELECT atttypmod AS dims FROM pg_attribute WHERE attrelid = to_regclass('vectors') AND attname = 'embedding' AND NOT attisdropped",
      );
      const dims = table.rows[0]?.dims ?? null;
      if (dims === null || dims < 1 || dims > HNSW_MAX_DIMENSIONS || (await hasSearchIndex(client)) || !(await holdsAtLeast(client, this.hnswMinVectors))) {
        return;
      }
      await client.query("SELECT pg_advisory_xact_lock(hashtext('bert_ts_hnsw'))");
      // Another worker may have built it while this one waited for the lock (each statement sees what committed before it).
      if (!(await hasSearchIndex(client))) await client.query("CREATE INDEX vectors_hnsw ON vectors USING hnsw (embedding vector_cosine_ops)");
    });
  }

  async retryFailed(): Promise<number> {
    return (await this.pool.query("UPDATE documents SET state = 'pending', error = NULL WHERE state = 'failed'")).rowCount ?? 0;
  }

  async search(queries: readonly Float32Array[], k: number, options: { exact?: boolean } = {}): Promise<SearchHit[][]> {
    const space = await this.space();
    if (!space) return queries.map(() => []);
    for (const q of queries) {
      if (q.length !== space.dimension) throw new StoreError(`Expected a query of ${space.dimension} dimensions for ${this.location} but received ${q.length}`);
    }
    if (!Number.isInteger(k) || k < 1) throw new StoreError(`Expected a positive integer k but received ${k}`);
    return inTransaction(this.pool, async (client) => {
      // SET LOCAL: the settings end with this transaction, never leaking to the pool's next user.
      await client.query(`SET LOCAL hnsw.ef_search = ${Math.min(1000, Math.max(EF_SEARCH, k))}`);
      if (options.exact) await client.query("SET LOCAL enable_indexscan = off");
      const out: SearchHit[][] = [];
      for (const query of queries) {
        const r = await client.query<{ id: string; window_index: number; span_start: number; span_end: number; text: string; distance: number }>(
          `SELECT v.doc_id AS id, v.window_index, v.span_start, v.span_end, d.text, v.embedding <=> $1::vector AS distance
           FROM vectors v JOIN documents d ON d.id = v.doc_id
           ORDER BY v.embedding <=> $1::vector LIMIT $2`,
          [vectorBinary(query), k],
        );
        out.push(r.rows.map((row) => ({ id: row.id, window: row.window_index, start: row.span_start, end: row.span_end, text: row.text, score: 1 - Number(row.distance) })));
      }
      return out;
    });
  }

  async vectorsOf(id: string): Promise<VectorRecord[]> {
    const r = await this.pool.query<{ window_index: number; span_start: number; span_end: number; token_count: number; truncated: boolean; embedding: string }>(
      "SELECT window_index, span_start, span_end, token_count, truncated, embedding::text AS embedding FROM vectors WHERE doc_id = $1 ORDER BY window_index",
      [id],
    );
    return r.rows.map((row) => ({
      docId: id,
      window: row.window_index,
      start: row.span_start,
      end: row.span_end,
      tokenCount: row.token_count,
      truncated: row.truncated,
      vector: parseVectorText(row.embedding),
    }));
  }

  async status(): Promise<StoreStatus> {
    // One round trip; the vectors table exists once a space is bound.
    const hasVectors = (await this.pool.query<{ present: boolean }>("SELECT to_regclass('vectors') IS NOT NULL AS present")).rows[0].present;
    const r = await this.pool.query<{ pending: string; done: string; failed: string; vectors: string; recent: string; span: number | null; space: string | null }>(
      `SELECT count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'done') AS done,
              count(*) FILTER (WHERE state = 'failed') AS failed,
              ${hasVectors ? "(SELECT count(*) FROM vectors)" : "0"} AS vectors,
              count(*) FILTER (WHERE done_at > now() - interval '60 seconds') AS recent,
              EXTRACT(EPOCH FROM max(done_at) FILTER (WHERE done_at > now() - interval '60 seconds') - min(done_at) FILTER (WHERE done_at > now() - interval '60 seconds'))::float8 AS span,
              (SELECT value FROM bert_ts_meta WHERE key = 'space') AS space
       FROM documents`,
    );
    const row = r.rows[0];
    const recentN = Number(row.recent);
    return {
      documents: Number(row.pending) + Number(row.done) + Number(row.failed),
      done: Number(row.done),
      pending: Number(row.pending),
      failed: Number(row.failed),
      vectors: Number(row.vectors),
      recentRate: recentN > 1 && row.span !== null && row.span > 0 ? recentN / row.span : null,
      space: row.space === null ? null : (JSON.parse(row.space) as VectorSpace),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.idleClaimClients.length = 0;
    // Connections still opening (prepareClaims) are ended with the others once they are open.
    await Promise.all(this.connectingClaimClients.splice(0));
    // Every connection is told to end (a claim still open is rolled back by the server), and none
    // keeps the process alive until the server has closed its side (~40 ms at load 6 for a claim
    // connection): nothing is in flight, and the pool ends its own clients the same way.
    for (const client of this.claimClients) {
      client.end().catch(() => {});
      releaseProcess(client);
    }
    this.claimClients.clear();
    const poolClients = [...this.poolClients];
    await this.pool.end();
    poolClients.forEach(releaseProcess);
  }
}

/** Lets the process exit while `client`'s socket waits for the server to close it (pg's Client.unref, not in its typings). */
function releaseProcess(client: Client): void {
  (client as Client & { unref?: () => void }).unref?.();
}

/** Runs `work` in one transaction on a pooled connection: COMMIT after it, ROLLBACK if it throws. */
async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * A new connection's first claim and first batch cost the server ~20 ms of CPU apart from the work
 * itself (reading the catalog for documents, vectors, their indexes and pg_stat_activity into the
 * backend's caches, measured with log_statement_stats). Planning the statements once (EXPLAIN,
 * nothing executed) does that while the model loads. Best effort: a table that does not exist yet
 * (a new store's vectors) is simply not warmed.
 */
async function warmUp(client: Client): Promise<void> {
  const plans: QueryConfig[] = [
    { text: `EXPLAIN ${CLAIM_SQL}`, values: [1] },
    { text: `EXPLAIN ${INSERT_VECTORS_SQL}`, values: [[], [], [], [], [], [], 0, null] },
    { text: `EXPLAIN ${MARK_DONE_SQL}`, values: [[], ""] },
  ];
  await Promise.allSettled(plans.map((plan) => client.query(plan)));
}

/** Whether the vectors table has at least `n` rows (reading at most n of them). */
async function holdsAtLeast(client: PoolClient, n: number): Promise<boolean> {
  if (n <= 0) return true;
  const r = await client.query<{ n: string }>("SELECT count(*) AS n FROM (SELECT 1 FROM vectors LIMIT $1) AS first_rows", [n]);
  return Number(r.rows[0].n) >= n;
}

/**
 * Sends every statement at once (the client is in pipeline mode) and waits for all the answers;
 * throws the first statement's error, if any, once all have answered (so none is left unhandled).
 */
async function pipelined<R extends QueryResultRow = QueryResultRow>(client: Client, statements: readonly QueryConfig[]): Promise<QueryResult<R>[]> {
  const settled = await Promise.allSettled(statements.map((statement) => client.query<R>(statement)));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<QueryResult<R>>).value);
}

/**
 * Whether the vectors table has its HNSW index: a catalog scan under this statement's snapshot
 * (to_regclass would consult a cache that may not yet know of an index another worker just built).
 */
const HNSW_INDEX_QUERY = `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
     WHERE i.indrelid = to_regclass('vectors') AND a.amname = 'hnsw'`;

async function hasSearchIndex(client: PoolClient): Promise<boolean> {
  return (await client.query(HNSW_INDEX_QUERY)).rows.length > 0;
}

function noVectorsTableYet(err: unknown): void {
  if ((err as { code?: string }).code !== "42P01") throw err;
}

/**
 * pgvector's binary form of one vector (vector_recv): int16 dimensions, int16 zero, then each
 * float32 big-endian. A Buffer parameter goes to the server in binary format (node-postgres).
 */
export function vectorBinary(v: Float32Array): Buffer {
  const out = Buffer.allocUnsafe(4 + 4 * v.length);
  writeVector(new DataView(out.buffer, out.byteOffset, out.byteLength), 0, v);
  return out;
}

/**
 * PostgreSQL's binary array form (array_recv) of a one-dimensional `vector[]`: int32 dimensions
 * (1), int32 has-nulls (0), int32 element type, int32 length, int32 lower bound (1), then each
 * element as int32 byte length + vectorBinary's bytes. One parameter carries a whole batch.
 */
export function vectorArrayBinary(vectors: readonly Float32Array[], vectorTypeOid: number): Buffer {
  let bytes = ARRAY_HEADER_BYTES;
  for (const v of vectors) bytes += 8 + 4 * v.length;
  const out = Buffer.allocUnsafe(bytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let at = writeArrayHeader(out, vectorTypeOid, vectors.length);
  for (const v of vectors) {
    view.setInt32(at, 4 + 4 * v.length);
    at = writeVector(view, at + 4, v);
  }
  return out;
}

/** Built-in element type oids (pg_type.h; fixed across PostgreSQL versions). */
const BOOL_OID = 16;
const INT4_OID = 23;
const TEXT_OID = 25;

/** Dimensions, has-nulls, element type, length and lower bound: array_recv's header for one dimension. */
const ARRAY_HEADER_BYTES = 20;

function writeArrayHeader(out: Buffer, elementTypeOid: number, length: number): number {
  out.writeInt32BE(1, 0);
  out.writeInt32BE(0, 4);
  out.writeUInt32BE(elementTypeOid, 8);
  out.writeInt32BE(length, 12);
  out.writeInt32BE(1, 16);
  return ARRAY_HEADER_BYTES;
}

/** A `text[]` in binary form: each element int32 byte length + its UTF-8 bytes. */
export function textArrayBinary(values: readonly string[]): Buffer {
  let bytes = ARRAY_HEADER_BYTES + 4 * values.length;
  for (const v of values) bytes += Buffer.byteLength(v, "utf8");
  const out = Buffer.allocUnsafe(bytes);
  let at = writeArrayHeader(out, TEXT_OID, values.length);
  for (const v of values) {
    const n = out.write(v, at + 4, "utf8");
    out.writeInt32BE(n, at);
    at += 4 + n;
  }
  return out;
}

/** An `int4[]` in binary form. */
export function int4ArrayBinary(values: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(ARRAY_HEADER_BYTES + 8 * values.length);
  let at = writeArrayHeader(out, INT4_OID, values.length);
  for (const v of values) {
    if (!Number.isInteger(v)) throw new StoreError(`Expected a 32-bit integer but received ${v}`);
    out.writeInt32BE(4, at);
    out.writeInt32BE(v, at + 4);
    at += 8;
  }
  return out;
}

/** A `bool[]` in binary form. */
export function boolArrayBinary(values: readonly boolean[]): Buffer {
  const out = Buffer.allocUnsafe(ARRAY_HEADER_BYTES + 5 * values.length);
  let at = writeArrayHeader(out, BOOL_OID, values.length);
  for (const v of values) {
    out.writeInt32BE(1, at);
    out[at + 4] = v ? 1 : 0;
    at += 5;
  }
  return out;
}

function writeVector(view: DataView, at: number, v: Float32Array): number {
  if (v.length > 16000) throw new StoreError(`pgvector stores at most 16,000 dimensions, not ${v.length}`);
  view.setInt16(at, v.length);
  view.setInt16(at + 2, 0);
  at += 4;
  for (let i = 0; i < v.length; i++, at += 4) {
    if (!Number.isFinite(v[i])) throw new StoreError("pgvector cannot store NaN or infinity");
    view.setFloat32(at, v[i]);
  }
  return at;
}

export function parseVectorText(text: string): Float32Array {
  const inner = text.trim().replace(/^\[/, "").replace(/\]$/, "");
  return Float32Array.from(inner.length === 0 ? [] : inner.split(","), Number);
}
