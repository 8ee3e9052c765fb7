/**
 * `bert-ts index` on PostgreSQL + pgvector with several worker processes, on a throw-away cluster:
 * a worker SIGKILLed while it holds a batch loses nothing (its transaction rolls back, another
 * worker takes the batch), every document ends with exactly one vector, bit for bit what
 * `bert-ts embed` gives; HNSW search finds the same hits as an exact scan; status reports progress.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PostgresStore } from "../../src/stores/postgres-store.js";
import type { Claim } from "../../src/stores/store.js";
import { CORPUS_FILE, REPO_ROOT, modelPath, skipUnlessModel } from "../helpers/paths.js";
import { skipUnlessPostgres, startPostgres, type PostgresCluster } from "../helpers/postgres.js";
import { embeddingLikeVectors, fillStore, syntheticSpace } from "../helpers/synthetic-store.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const skip = skipUnlessModel(MINILM) || skipUnlessPostgres();

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 1 << 28, env: { ...process.env, ...env } });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
}

describe("bert-ts index (PostgreSQL + pgvector)", { skip }, () => {
  let pg: PostgresCluster;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg?.stop());

  it("3 workers, one SIGKILLed mid-batch: every document once, equal to bert-ts embed", async () => {
    const url = pg.createDatabase("workers");
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-pgidx-"));
    const file = join(dir, "c.txt");
    const lines = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.trim()).slice(0, 160);
    writeFileSync(file, lines.join("\n") + "\n");
    let r = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", url, "--enqueue-only"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /160 new, 0 changed, 0 unchanged/);
    r = run(["index", "status", "--store", url, "--format", "jsonl"]);
    assert.equal(JSON.parse(r.stdout).pending, 160);

    // The victim pauses 1.5 s inside each batch (after embedding, before commit); the others 100 ms.
    // HNSW from 100 vectors (not the default 10,000), so the workers that run dry build it here.
    const start = (pause: number) =>
      spawn(process.execPath, [BIN, "index", "--store", url, "--worker", "--batch-size", "8"], {
        env: { ...process.env, BERT_TS_TEST_PAUSE_BEFORE_COMMIT_MS: String(pause), BERT_TS_HNSW_MIN_VECTORS: "100" },
        stdio: ["ignore", "ignore", "pipe"],
      });
    const victim = start(1500);
    const victimExit = exitOf(victim);
    // Wait until the victim holds a claim: its connection is idle inside an open transaction.
    let holding = false;
    for (let i = 0; i < 600 && !holding; i++) {
      await new Promise((res) => setTimeout(res, 100));
      holding = pg.psql("workers", `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bert-ts worker pid ${victim.pid}' AND state = 'idle in transaction'`).trim() !== "0";
    }
    assert.ok(holding, "the victim never claimed a batch");
    const others = [start(100), start(100)];
    const othersExit = others.map(exitOf);
    victim.kill("SIGKILL");
    assert.equal((await victimExit).signal, "SIGKILL");
    for (const [k, exit] of othersExit.entries()) {
      const { code } = await exit;
      assert.equal(code, 0, `worker ${k} failed`);
    }

    const counts = pg.psql("workers", "SELECT state, count(*) FROM documents GROUP BY state").trim();
    assert.equal(counts, "done|160");
    assert.equal(pg.psql("workers", "SELECT count(*) FROM vectors").trim(), "160");
    assert.equal(pg.psql("workers", "SELECT count(*) FROM (SELECT doc_id FROM vectors GROUP BY doc_id HAVING count(*) > 1) d").trim(), "0");
    const workersThatWrote = pg.psql("workers", "SELECT count(DISTINCT done_by) FROM documents").trim();
    assert.equal(workersThatWrote, "2", "the killed worker committed nothing, the two others shared the work");
    // The workers that ran dry built the HNSW index once, after the load.
    assert.equal(pg.psql("workers", "SELECT count(*) FROM pg_indexes WHERE tablename = 'vectors' AND indexdef LIKE '%USING hnsw%'").trim(), "1");

    const embedded = run(["embed", "--model", modelPath(MINILM), "--input", file, "--format", "jsonl"]);
    assert.equal(embedded.status, 0, embedded.stderr);
    const expected = embedded.stdout.trim().split("\n").map((l) => Float32Array.from(JSON.parse(l).embedding as number[]));
    const store = await PostgresStore.open(url);
    try {
      for (let i = 0; i < lines.length; i++) {
        const v = await store.vectorsOf(`${file}:${i + 1}`);
        assert.equal(v.length, 1);
        assert.deepEqual(v[0].vector, expected[i], `line ${i + 1}`);
      }
      // HNSW (the default) and an exact scan agree on these 160 vectors.
      const q = [expected[3], expected[77]];
      const [approx, exact] = [await store.search(q, 10), await store.search(q, 10, { exact: true })];
      assert.deepEqual(approx.map((h) => h.map((x) => x.score.toFixed(6))), exact.map((h) => h.map((x) => x.score.toFixed(6))));
      assert.ok(Math.abs(exact[0][0].score - 1) < 1e-6, "a stored vector is its own best hit");
    } finally {
      await store.close();
    }

    // search --store on PostgreSQL, one JSONL line a hit.
    r = run(["search", "--store", url, "-q", lines[5], "-k", "3", "--format", "jsonl"]);
    assert.equal(r.status, 0, r.stderr);
    const hits = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(hits.length, 3);
    assert.equal(hits[0].text, lines[5]);
    assert.deepEqual(Object.keys(hits[0]).sort(), ["end", "id", "query", "rank", "score", "start", "text", "window"]);
  });

  it("a new store is loaded without HNSW and gets it once the queue runs dry at the size threshold; vectors travel bit for bit", async () => {
    const url = pg.createDatabase("deferred");
    const dim = 16;
    // Values whose shortest decimal forms are long, and the float32 extremes: binary transfer keeps every bit.
    const vectors = embeddingLikeVectors(300, dim, 5, { intrinsic: 4 });
    vectors[0][0] = 3.4028234663852886e38;
    vectors[0][1] = -1.401298464324817e-45;
    vectors[0][2] = 1.1754942106924411e-38;
    // 300 vectors: under one store's threshold (301), at the two others' (300).
    const small = await PostgresStore.open(url, dim, { hnswMinVectors: 301 });
    const stores = [await PostgresStore.open(url, dim, { hnswMinVectors: 300 }), await PostgresStore.open(url, dim, { hnswMinVectors: 300 })];
    try {
      await fillStore(stores[0], vectors);
      const hnswIndexes = () => pg.psql("deferred", "SELECT count(*) FROM pg_indexes WHERE tablename = 'vectors' AND indexdef LIKE '%USING hnsw%'").trim();
      assert.equal(hnswIndexes(), "0", "no HNSW index while the first load runs");
      await small.bindSpace(syntheticSpace(dim).space, syntheticSpace(dim).provenance);
      await small.finishPending();
      assert.equal(hnswIndexes(), "0", "none below the threshold");
      const queries = vectors.slice(10, 14);
      const before = await stores[0].search(queries, 5);
      const exact = await stores[0].search(queries, 5, { exact: true });
      assert.deepEqual(before, exact, "without the index, search is the exact scan");
      // Two workers run dry at once: one builds the index, the other finds it built.
      await stores[1].bindSpace(syntheticSpace(dim).space, syntheticSpace(dim).provenance);
      await Promise.all(stores.map((s) => s.finishPending()));
      assert.equal(hnswIndexes(), "1");
      await stores[0].finishPending();
      assert.equal(hnswIndexes(), "1", "a second call builds nothing");
      pg.psql("deferred", "ANALYZE vectors");
      const plan = pg.psql("deferred", `SET enable_seqscan = off; EXPLAIN SELECT doc_id FROM vectors ORDER BY embedding <=> '[${Array(dim).fill(0.1).join(",")}]' LIMIT 5`);
      assert.match(plan, /vectors_hnsw/);
      for (const i of [0, 1, 299]) assert.deepEqual((await stores[1].vectorsOf(`d${i}`))[0].vector, vectors[i], `d${i}`);
      const after = await stores[1].search(queries, 1);
      after.forEach((hits, q) => assert.equal(hits[0].id, `d${10 + q}`, "a stored vector is its own best hit"));
      // A non-finite vector is refused with a message, and the claim's documents stay pending.
      const run = await stores[0].beginRun();
      await stores[0].upsertDocuments(run, [{ id: "bad", text: "bad", source: "test" }]);
      const claim = await stores[0].claimPending(10, "test");
      assert.ok(claim);
      await assert.rejects(
        claim.commit([{ docId: "bad", window: 0, start: 0, end: 3, vector: new Float32Array(dim).fill(Number.NaN), tokenCount: 3, truncated: false }], []),
        /pgvector cannot store NaN or infinity/,
      );
      assert.equal((await stores[0].status()).pending, 1);
      await claim.release();
      // Ids travel as binary text arrays: quotes, backslashes, commas, braces and non-ASCII arrive as written.
      const oddId = 'naïve "quoted" \\ back, {braces} 🙂';
      await stores[0].upsertDocuments(run, [{ id: oddId, text: "odd", source: "test" }]);
      const odd = await stores[0].claimPending(10, "test");
      assert.ok(odd);
      await odd.commit(
        odd.documents.map((d, i) => ({ docId: d.id, window: 0, start: 0, end: d.text.length, vector: vectors[i], tokenCount: 2 ** 31 - 1, truncated: d.id === oddId })),
        [],
      );
      const [stored] = await stores[0].vectorsOf(oddId);
      assert.equal(stored.tokenCount, 2 ** 31 - 1);
      assert.equal(stored.truncated, true);
      assert.equal((await stores[0].status()).pending, 0);
    } finally {
      await Promise.all([small, ...stores].map((s) => s.close()));
    }
  });

  it("claims shrink to ceil(pending / 2W) near the end of a load W workers share, full batches otherwise (work counts)", async () => {
    const url = pg.createDatabase("sizing");
    const dim = 8;
    const { space, provenance } = syntheticSpace(dim);
    const vector = embeddingLikeVectors(1, dim, 3)[0];
    const open = async (workerId: string) => {
      const store = await PostgresStore.open(url, dim, { workerId });
      await store.bindSpace(space, provenance);
      return store;
    };
    const claimConnections = (worker: string) => Number(pg.psql("sizing", `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'bert-ts worker ${worker}'`).trim());
    const pending = () => Number(pg.psql("sizing", "SELECT count(*) FROM documents WHERE state = 'pending'").trim());
    // The rule, stated independently of the store: a worker alone takes full batches; with W > 1
    // live workers, ceil(pending / 2W), at least an eighth of a batch, where pending (held claims
    // included) counts up to 2W batches. Never more than is pending.
    const rule = (pendingNow: number, workers: number, batch: number) =>
      Math.min(
        pendingNow,
        workers <= 1 ? batch : Math.min(batch, Math.max(Math.ceil(batch / 8), Math.ceil(Math.min(pendingNow, 2 * workers * batch) / (2 * workers)))),
      );
    const commit = (claim: Claim) =>
      claim.commit(claim.documents.map((d) => ({ docId: d.id, window: 0, start: 0, end: d.text.length, vector, tokenCount: 3, truncated: false })), []);
    const a = await open("a");
    const b = await open("b");
    try {
      const run = await a.beginRun();
      await a.upsertDocuments(run, Array.from({ length: 600 }, (_, i) => ({ id: `d${String(i).padStart(3, "0")}`, text: `document ${i}`, source: "test" })));
      await a.finishRun(run, false);
      const claimed = new Set<string>();
      const take = async (store: PostgresStore, worker: string, workers: number): Promise<Claim | null> => {
        const expected = rule(pending(), workers, 64);
        const claim = await store.claimPending(64, worker);
        assert.equal(claim?.documents.length ?? 0, expected, `${worker}'s claim with ${workers} workers`);
        for (const d of claim?.documents ?? []) {
          assert.ok(!claimed.has(d.id), `${d.id} claimed twice`);
          claimed.add(d.id);
        }
        return claim;
      };
      // Only a has claim connections: one worker, a full batch.
      let claim = await take(a, "a", 1);
      await commit(claim!);
      // b connects: two workers. 536 pending count as 256 (2W batches): still full batches.
      const held = await take(b, "b", 2);
      claim = await take(a, "a", 2);
      assert.equal(claim!.documents.length, 64);
      await Promise.all([commit(held!), commit(claim!)]);
      // Then the two alternate; once fewer than 256 are pending, the claims shrink.
      const sizes: number[] = [];
      for (let turn = 0; pending() > 0; turn++) {
        const [store, worker] = turn % 2 === 0 ? [a, "a"] : [b, "b"];
        claim = await take(store, worker, 2);
        sizes.push(claim!.documents.length);
        await commit(claim!);
      }
      assert.ok(sizes[0] === 64 && sizes.filter((n) => n < 64).length >= 5 && sizes.at(-1)! <= 8, `claims shrink toward the end: ${sizes.join(" ")}`);
      assert.equal(claimed.size, 600);
      // A worker that leaves stops counting: a alone takes full batches again.
      await b.close();
      for (let i = 0; i < 100 && claimConnections("b") > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(claimConnections("b"), 0);
      const more = await a.beginRun();
      await a.upsertDocuments(more, Array.from({ length: 100 }, (_, i) => ({ id: `e${i}`, text: `more ${i}`, source: "test" })));
      claim = await take(a, "a", 1);
      assert.equal(claim!.documents.length, 64);
      await claim!.release();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("refuses another model's vectors and a database with tables of its own", async () => {
    const url = pg.createDatabase("spaces");
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-pgidx-"));
    const file = join(dir, "c.txt");
    writeFileSync(file, "one document\nanother one\n");
    let r = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", url]);
    assert.equal(r.status, 0, r.stderr);
    r = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", url, "--no-normalize"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /normalize: true in the store, false asked/);
    const foreign = pg.createDatabase("foreign_app");
    pg.psql("foreign_app", "CREATE TABLE documents (x int)");
    r = run(["index", "--model", modelPath(MINILM), "--input", file, "--store", foreign]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /already has tables named documents/);
    assert.equal(pg.psql("foreign_app", "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").trim(), "1");
  });
});
