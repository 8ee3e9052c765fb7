/**
 * `npm run bench:index`: the corpus index, measured.
 *   1. Indexing throughput on the 986-sentence corpus, whole processes: `bert-ts embed` alone vs
 *      `bert-ts index` into SQLite, into PostgreSQL in one process, and PostgreSQL `--worker`s (1 and
 *      2 processes, on a corpus registered beforehand; and 1 worker that also builds the HNSW index,
 *      which a store this small does not get by default).
 *   2. Search at 10k and 100k stored vectors (seeded unit vectors of the model's width, 384, shaped like embeddings: see test/helpers/synthetic-store.ts):
 *      SQLite exact scan vs pgvector HNSW — p50/p99 latency, queries/s, HNSW recall@10 against
 *      the exact answer, and bytes on disk per vector.
 * PostgreSQL parts need PostgreSQL 15 + pgvector (../shared/vendor/install-pgvector.sh) and are
 * skipped with the reason otherwise. Prints tables; JSON to bench/results/index.json.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PostgresStore } from "../src/stores/postgres-store.js";
import { SqliteStore } from "../src/stores/sqlite-store.js";
import type { CorpusStore } from "../src/stores/store.js";
import { embeddingLikeVectors, fillStore } from "../test/helpers/synthetic-store.js";
import { skipUnlessPostgres, startPostgres, type PostgresCluster } from "../test/helpers/postgres.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SHARED = process.env.BERT_TS_SHARED ?? join(ROOT, "..", "shared");
const MODEL = join(process.env.BERT_TS_MODELS ?? join(SHARED, "models"), "minilm-l6-h384-random");
const CORPUS = process.env.BERT_TS_CORPUS ?? join(SHARED, "corpus", "license-sentences.txt");
const BIN = join(ROOT, "bin", "bert-ts.js");
const WORK = join(ROOT, "bench", "results", "index-work");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const DIM = 384;
// BENCH_INDEX_SIZES="" measures indexing throughput only.
const SIZES = (process.env.BENCH_INDEX_SIZES ?? "10000,100000").split(",").filter((x) => x.trim() !== "").map(Number);
const QUERIES = 200;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

const CPU_REPORTER = join(ROOT, "bench", "child-cpu.mjs");

/** Wall-clock and CPU seconds (user + sys, all threads; the bert-ts process only, not PostgreSQL's) of one run. */
interface Timing {
  wall: number;
  cpu: number;
}

function cpuOf(stderr: string): number {
  const m = /bert-ts-bench-cpu-ms ([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no CPU time reported:\n${stderr}`);
  return Number(m[1]) / 1000;
}

function timed(args: string[], env: NodeJS.ProcessEnv = {}): Timing {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--import", CPU_REPORTER, BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`bert-ts ${args.join(" ")} failed:\n${r.stderr}`);
  return { wall: (performance.now() - t0) / 1000, cpu: cpuOf(r.stderr) };
}

/** Several processes at once: wall-clock until the last ends, CPU summed over them. */
function timedParallel(argsList: string[][]): Promise<Timing> {
  const t0 = performance.now();
  return Promise.all(
    argsList.map(
      (args) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", CPU_REPORTER, BIN, ...args], { stdio: ["ignore", "ignore", "pipe"] });
          let err = "";
          child.stderr.on("data", (d) => (err += d));
          child.on("exit", (code) => (code === 0 ? resolve(cpuOf(err)) : reject(new Error(`bert-ts ${args.join(" ")} failed:\n${err}`))));
        }),
    ),
  ).then((cpus) => ({ wall: (performance.now() - t0) / 1000, cpu: cpus.reduce((a, b) => a + b, 0) }));
}

interface SearchRow {
  store: string;
  vectors: number;
  p50Ms: number;
  p99Ms: number;
  qps: number;
  recallAt10: number | null;
  bytesPerVector: number;
  fillSeconds: number;
}

async function measureSearch(name: string, store: CorpusStore, queries: Float32Array[], exactIds: string[][] | null, options: { exact?: boolean } = {}): Promise<{ p50: number; p99: number; qps: number; recall: number | null; ids: string[][] }> {
  const times: number[] = [];
  const ids: string[][] = [];
  await store.search(queries.slice(0, 5), 10, options); // warm-up
  const t0 = performance.now();
  for (const q of queries) {
    const t = performance.now();
    const [hits] = await store.search([q], 10, options);
    times.push(performance.now() - t);
    ids.push(hits.map((h) => h.id));
  }
  const total = (performance.now() - t0) / 1000;
  let recall: number | null = null;
  if (exactIds) {
    let found = 0;
    ids.forEach((got, i) => (found += got.filter((id) => exactIds[i].includes(id)).length));
    recall = found / (10 * queries.length);
  }
  void name;
  return { p50: percentile(times, 50), p99: percentile(times, 99), qps: queries.length / total, recall, ids };
}

export async function runIndexBench(): Promise<void> {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const pgSkip = skipUnlessPostgres();
  let pg: PostgresCluster | null = null;
  if (!pgSkip) pg = await startPostgres();
  const results: Record<string, unknown> = { date: new Date().toISOString(), runs: RUNS, cores: cpus().length, loadBefore: loadavg() };
  // The host is shared: absolute rates move with the load, so print it; compare ratios within this run.
  console.log(`load average before: ${loadavg().map((x) => x.toFixed(1)).join(" ")} on ${cpus().length} cores`);
  try {
    // 1. Throughput on the corpus, whole processes. Each round runs every variant once, in
    // alternating order (embed first, then last), and each variant is compared with the embed run
    // of its own round: the ratio's median over rounds is robust to the load moving between rounds.
    const variants: { what: string; run: (r: number) => Promise<Timing> }[] = [
      { what: "bert-ts embed (no store)", run: async () => timed(["embed", "--model", MODEL, "--input", CORPUS, "--output", join(WORK, "embed.jsonl")]) },
      { what: "bert-ts index → SQLite", run: async (r) => timed(["index", "--model", MODEL, "--input", CORPUS, "--store", join(WORK, `s${r}.sqlite`), "--no-progress"]) },
    ];
    if (pg) {
      const cluster = pg;
      variants.push({
        what: "bert-ts index → PostgreSQL, one process (register + embed)",
        run: async (r) => timed(["index", "--model", MODEL, "--input", CORPUS, "--store", cluster.createDatabase(`plain${r}`), "--no-progress"]),
      });
      variants.push({
        what: "bert-ts index --worker → PostgreSQL, 1 worker",
        run: async (r) => {
          const url = cluster.createDatabase(`one${r}`);
          // Registering the corpus (--enqueue-only, its own process) is not timed: the worker rows measure the workers.
          timed(["index", "--model", MODEL, "--input", CORPUS, "--store", url, "--enqueue-only"]);
          return timed(["index", "--store", url, "--worker", "--no-progress"]);
        },
      });
      // The corpus is under the store's HNSW threshold (10,000 vectors), so the rows above search it
      // exactly; this one builds the index anyway, to show what that build costs at this size.
      variants.push({
        what: "bert-ts index --worker → PostgreSQL, 1 worker, HNSW built (BERT_TS_HNSW_MIN_VECTORS=0)",
        run: async (r) => {
          const url = cluster.createDatabase(`hnsw${r}`);
          timed(["index", "--model", MODEL, "--input", CORPUS, "--store", url, "--enqueue-only"]);
          return timed(["index", "--store", url, "--worker", "--no-progress"], { BERT_TS_HNSW_MIN_VECTORS: "0" });
        },
      });
      variants.push({
        what: "bert-ts index --worker → PostgreSQL, 2 workers × 1 thread",
        run: async (r) => {
          const url = cluster.createDatabase(`two${r}`);
          timed(["index", "--model", MODEL, "--input", CORPUS, "--store", url, "--enqueue-only"]);
          return timedParallel([0, 1].map(() => ["index", "--store", url, "--worker", "--threads", "1", "--no-progress"]));
        },
      });
    }
    const timings: Timing[][] = variants.map(() => []);
    const corpusDocs = 986;
    for (let r = 0; r < RUNS; r++) {
      const order = variants.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) timings[i].push(await variants[i].run(r));
    }
    const rows = variants.map((v, i) => {
      const t = timings[i];
      return {
        what: v.what,
        seconds: median(t.map((x) => x.wall)),
        cpuSeconds: median(t.map((x) => x.cpu)),
        wallVsEmbed: median(t.map((x, r) => x.wall / timings[0][r].wall)),
        cpuVsEmbed: median(t.map((x, r) => x.cpu / timings[0][r].cpu)),
      };
    });
    const pct = (ratio: number) => `${ratio >= 1 ? "+" : ""}${((ratio - 1) * 100).toFixed(1)}%`;
    console.log(`\nIndexing the corpus (${corpusDocs} documents, whole processes incl. model load, median of ${RUNS} alternating rounds)`);
    console.log("| what | wall s | documents/s | CPU s (user+sys) | wall vs embed | CPU vs embed |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (const [i, row] of rows.entries()) {
      console.log(
        `| ${row.what} | ${row.seconds.toFixed(2)} | ${(corpusDocs / row.seconds).toFixed(1)} | ${row.cpuSeconds.toFixed(2)} | ${i === 0 ? "—" : pct(row.wallVsEmbed)} | ${i === 0 ? "—" : pct(row.cpuVsEmbed)} |`,
      );
    }
    console.log("(CPU: the bert-ts processes only; PostgreSQL's own server processes are not counted. Ratios: median over rounds of each round's ratio.)");
    if (!pg) console.log(`(PostgreSQL rows skipped: ${pgSkip})`);
    results.throughput = rows.map((r) => ({ ...r, documentsPerSecond: corpusDocs / r.seconds }));

    // 2. Search at 10k and 100k vectors.
    const searchRows: SearchRow[] = [];
    const queries = embeddingLikeVectors(QUERIES, DIM, 7);
    for (const n of SIZES) {
      const vectors = embeddingLikeVectors(n, DIM, 1234);
      const file = join(WORK, `search-${n}.sqlite`);
      const sqlite = SqliteStore.open(file);
      const sqliteFill = await fillStore(sqlite, vectors);
      const exact = await measureSearch("sqlite", sqlite, queries, null);
      await sqlite.close();
      const sqliteBytes = statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);
      searchRows.push({ store: "SQLite, exact scan", vectors: n, p50Ms: exact.p50, p99Ms: exact.p99, qps: exact.qps, recallAt10: 1, bytesPerVector: sqliteBytes / n, fillSeconds: sqliteFill });
      if (pg) {
        const url = pg.createDatabase(`search${n}`);
        const store = await PostgresStore.open(url, DIM);
        // A bulk load builds the HNSW index once at the end (as pgvector advises), not row by row.
        pg.psql(`search${n}`, "DROP INDEX IF EXISTS vectors_hnsw");
        const pgFill = await fillStore(store, vectors);
        const t0 = performance.now();
        pg.psql(`search${n}`, "SET maintenance_work_mem = '1GB'; CREATE INDEX vectors_hnsw ON vectors USING hnsw (embedding vector_cosine_ops)");
        const buildSeconds = (performance.now() - t0) / 1000;
        pg.psql(`search${n}`, "VACUUM ANALYZE");
        const hnsw = await measureSearch("pgvector", store, queries, exact.ids);
        const pgExact = await measureSearch("pgvector exact", store, queries.slice(0, 20), null, { exact: true });
        await store.close();
        const bytes = Number(pg.psql(`search${n}`, "SELECT pg_total_relation_size('vectors') + pg_total_relation_size('documents')").trim());
        searchRows.push({ store: `PostgreSQL + pgvector HNSW (ef_search 200; index built in ${buildSeconds.toFixed(0)} s)`, vectors: n, p50Ms: hnsw.p50, p99Ms: hnsw.p99, qps: hnsw.qps, recallAt10: hnsw.recall, bytesPerVector: bytes / n, fillSeconds: pgFill + buildSeconds });
        searchRows.push({ store: "PostgreSQL + pgvector, exact scan", vectors: n, p50Ms: pgExact.p50, p99Ms: pgExact.p99, qps: pgExact.qps, recallAt10: 1, bytesPerVector: bytes / n, fillSeconds: pgFill });
      }
    }
    console.log(`\nSearch (top 10, ${QUERIES} queries one at a time, ${DIM}-dim embedding-like unit vectors)`);
    console.log("| store | vectors | p50 ms | p99 ms | queries/s | recall@10 | bytes/vector on disk | fill s |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of searchRows) {
      console.log(
        `| ${r.store} | ${r.vectors} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.qps.toFixed(1)} | ${r.recallAt10 === null ? "—" : r.recallAt10.toFixed(3)} | ${r.bytesPerVector.toFixed(0)} | ${r.fillSeconds.toFixed(1)} |`,
      );
    }
    results.search = searchRows;
    results.loadAfter = loadavg();
    console.log(`\nload average after: ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
  } finally {
    pg?.stop();
  }
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "index.json"), JSON.stringify(results, null, 2) + "\n");
}

if (import.meta.url === `file://${process.argv[1]}`) await runIndexBench();
