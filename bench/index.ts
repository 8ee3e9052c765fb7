/**
 * `npm run bench:index`: the corpus index, measured.
 *   1. Indexing throughput on the 986-sentence corpus, whole processes: `bert-ts embed` alone vs
 *      `bert-ts index` into SQLite, into PostgreSQL in one process, and PostgreSQL `--worker`s (1 and
 *      2 processes, on a corpus registered beforehand; and 1 worker that also builds the HNSW index,
 *      which a store this small does not get by default), with the PostgreSQL cluster's own CPU.
 *      Then the same on BENCH_INDEX_COPIES (4) distinct copies of the corpus, and the steady state:
 *      the per-document cost of the extra documents (fixed per-run costs cancel) and the fixed cost
 *      per run beyond `embed`.
 *   2. Search at 10k and 100k stored vectors (seeded unit vectors of the model's width, 384, shaped like embeddings: see test/helpers/synthetic-store.ts):
 *      SQLite exact scan vs pgvector HNSW — p50/p99 latency, queries/s, HNSW recall@10 against
 *      the exact answer, and bytes on disk per vector.
 * PostgreSQL parts need PostgreSQL 15 + pgvector (../shared/vendor/install-pgvector.sh) and are
 * skipped with the reason otherwise. Prints tables; JSON to bench/results/index.json.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
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
// The steady-state comparison runs on this many distinct copies of the corpus (BENCH_INDEX_COPIES=1: skipped).
const COPIES = Number(process.env.BENCH_INDEX_COPIES ?? 4);
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

/**
 * One run: wall-clock seconds, CPU seconds of the bert-ts process(es) (user + sys, all threads), and
 * CPU seconds of the PostgreSQL cluster's processes over the same span (NaN for runs without it).
 */
interface Timing {
  wall: number;
  cpu: number;
  server: number;
}

function cpuOf(stderr: string): number {
  const m = /bert-ts-bench-cpu-ms ([\d.]+)/.exec(stderr);
  if (!m) throw new Error(`no CPU time reported:\n${stderr}`);
  return Number(m[1]) / 1000;
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): number {
  const r = spawnSync(process.execPath, ["--import", CPU_REPORTER, BIN, ...args], { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`bert-ts ${args.join(" ")} failed:\n${r.stderr}`);
  return cpuOf(r.stderr);
}

/** Several processes at once (one is fine): wall-clock until the last ends, CPU summed over them, and the cluster's CPU meanwhile. */
async function timed(argsList: string[][], cluster: PostgresCluster | null = null, env: NodeJS.ProcessEnv = {}): Promise<Timing> {
  const server0 = cluster ? cluster.serverCpuSeconds() : Number.NaN;
  const t0 = performance.now();
  const cpus = await Promise.all(
    argsList.map(
      (args) =>
        new Promise<number>((resolve, reject) => {
          const child = spawn(process.execPath, ["--import", CPU_REPORTER, BIN, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
          let err = "";
          child.stderr.on("data", (d) => (err += d));
          child.on("exit", (code) => (code === 0 ? resolve(cpuOf(err)) : reject(new Error(`bert-ts ${args.join(" ")} failed:\n${err}`))));
        }),
    ),
  );
  const wall = (performance.now() - t0) / 1000;
  return { wall, cpu: cpus.reduce((a, b) => a + b, 0), server: cluster ? cluster.serverCpuSeconds() - server0 : Number.NaN };
}

/** A way of embedding a corpus, timed as whole processes. */
interface Variant {
  what: string;
  /** Also run on the larger corpus (the steady-state comparison). */
  steady: boolean;
  run(corpus: string, tag: string): Promise<Timing>;
}

/**
 * K copies of the corpus, each line suffixed with its copy number: distinct texts, so distinct
 * ids and content hashes (nothing is deduplicated or cached between copies).
 */
function writeCopies(corpus: string, copies: number, file: string): number {
  const lines = readFileSync(corpus, "utf8").split("\n").filter((l) => l.trim() !== "");
  const out: string[] = [];
  for (let k = 1; k <= copies; k++) for (const line of lines) out.push(`${line} (copy ${k})`);
  writeFileSync(file, out.join("\n") + "\n");
  return out.length;
}

function documentsIn(file: string): number {
  return readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "").length;
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
    // A variant's run on the larger corpus follows its run on the corpus, so the pair sees one load.
    const variants: Variant[] = [
      // With a cluster running, its CPU is taken over these runs too: what an idle cluster costs (background workers).
      { what: "bert-ts embed (no store)", steady: true, run: (corpus, tag) => timed([["embed", "--model", MODEL, "--input", corpus, "--output", join(WORK, `embed-${tag}.jsonl`)]], pg) },
      { what: "bert-ts index → SQLite", steady: true, run: (corpus, tag) => timed([["index", "--model", MODEL, "--input", corpus, "--store", join(WORK, `${tag}.sqlite`), "--no-progress"]], pg) },
    ];
    if (pg) {
      const cluster = pg;
      // A corpus registered beforehand (--enqueue-only, its own process, not timed: the worker rows measure the workers).
      const registered = (corpus: string, tag: string) => {
        const url = cluster.createDatabase(tag);
        run(["index", "--model", MODEL, "--input", corpus, "--store", url, "--enqueue-only"]);
        return url;
      };
      variants.push({
        what: "bert-ts index → PostgreSQL, one process (register + embed)",
        steady: true,
        run: (corpus, tag) => timed([["index", "--model", MODEL, "--input", corpus, "--store", cluster.createDatabase(tag), "--no-progress"]], cluster),
      });
      variants.push({
        what: "bert-ts index --worker → PostgreSQL, 1 worker",
        steady: true,
        run: (corpus, tag) => timed([["index", "--store", registered(corpus, tag), "--worker", "--no-progress"]], cluster),
      });
      // The corpus is under the store's HNSW threshold (10,000 vectors), so the rows above search it
      // exactly; this one builds the index anyway, to show what that build costs at this size.
      variants.push({
        what: "bert-ts index --worker → PostgreSQL, 1 worker, HNSW built (BERT_TS_HNSW_MIN_VECTORS=0)",
        steady: false,
        run: (corpus, tag) => timed([["index", "--store", registered(corpus, tag), "--worker", "--no-progress"]], cluster, { BERT_TS_HNSW_MIN_VECTORS: "0" }),
      });
      variants.push({
        what: "bert-ts index --worker → PostgreSQL, 2 workers × 1 thread",
        steady: true,
        run: (corpus, tag) => {
          const url = registered(corpus, tag);
          return timed([0, 1].map(() => ["index", "--store", url, "--worker", "--threads", "1", "--no-progress"]), cluster);
        },
      });
    }
    const corpusDocs = documentsIn(CORPUS);
    const bigCorpus = join(WORK, `corpus-x${COPIES}.txt`);
    const bigDocs = COPIES > 1 ? writeCopies(CORPUS, COPIES, bigCorpus) : 0;
    const small: Timing[][] = variants.map(() => []);
    const big: Timing[][] = variants.map(() => []);
    for (let r = 0; r < RUNS; r++) {
      const order = variants.map((_, i) => i);
      if (r % 2 === 1) order.reverse();
      for (const i of order) {
        small[i].push(await variants[i].run(CORPUS, `v${i}r${r}`));
        if (bigDocs > 0 && variants[i].steady) big[i].push(await variants[i].run(bigCorpus, `v${i}r${r}x`));
      }
    }
    const all = (x: Timing) => x.cpu + (Number.isNaN(x.server) ? 0 : x.server);
    const pct = (ratio: number) => `${ratio >= 1 ? "+" : ""}${((ratio - 1) * 100).toFixed(1)}%`;
    const seconds = (x: number) => (Number.isNaN(x) ? "—" : x.toFixed(2));
    const table = (timings: Timing[][], docs: number, title: string) => {
      const rows = variants.flatMap((v, i) => {
        const t = timings[i];
        if (t.length === 0) return [];
        return [{
          what: v.what,
          seconds: median(t.map((x) => x.wall)),
          cpuSeconds: median(t.map((x) => x.cpu)),
          serverCpuSeconds: median(t.map((x) => x.server)),
          wallVsEmbed: median(t.map((x, r) => x.wall / timings[0][r].wall)),
          cpuVsEmbed: median(t.map((x, r) => x.cpu / timings[0][r].cpu)),
          // The database's CPU counted in: what the run costs the machine, not only the bert-ts process
          // (embed's own span includes the idle cluster's background CPU, so that cancels).
          allCpuVsEmbed: median(t.map((x, r) => all(x) / all(timings[0][r]))),
          documentsPerSecond: docs / median(t.map((x) => x.wall)),
        }];
      });
      console.log(`\n${title}`);
      console.log("| what | wall s | documents/s | CPU s (bert-ts) | CPU s (PostgreSQL) | wall vs embed | CPU vs embed | CPU incl. PostgreSQL vs embed |");
      console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
      for (const [i, row] of rows.entries()) {
        const first = i === 0;
        console.log(
          `| ${row.what} | ${row.seconds.toFixed(2)} | ${row.documentsPerSecond.toFixed(1)} | ${row.cpuSeconds.toFixed(2)} | ${seconds(row.serverCpuSeconds)} | ${first ? "—" : pct(row.wallVsEmbed)} | ${first ? "—" : pct(row.cpuVsEmbed)} | ${first ? "—" : pct(row.allCpuVsEmbed)} |`,
        );
      }
      return rows;
    };
    results.throughput = table(small, corpusDocs, `Indexing the corpus (${corpusDocs} documents, whole processes incl. model load, median of ${RUNS} alternating rounds)`);
    if (bigDocs > 0) {
      results.throughputLarger = table(big, bigDocs, `The same on a larger corpus: ${bigDocs} documents (${COPIES} copies of the corpus, each line suffixed with its copy number: distinct ids and content hashes)`);
      // Steady state: the extra documents of the larger corpus cost Δt = t(larger) − t(corpus) in
      // each round; fixed per-run costs (process start, model load, connections) cancel out of Δt.
      const extra = bigDocs - corpusDocs;
      const steady = variants.flatMap((v, i) => {
        if (big[i].length === 0) return [];
        const dWall = big[i].map((b, r) => b.wall - small[i][r].wall);
        const dEmbed = big[0].map((b, r) => b.wall - small[0][r].wall);
        return [{
          what: v.what,
          documentsPerSecond: extra / median(dWall),
          perDocumentWallVsEmbed: median(dWall.map((d, r) => d / dEmbed[r])),
          perDocumentCpuVsEmbed: median(big[i].map((b, r) => (all(b) - all(small[i][r])) / (all(big[0][r]) - all(small[0][r])))),
          // What the corpus run costs beyond embed that is not per-document: its wall-clock excess minus
          // the per-document excess at the corpus's size.
          fixedSecondsVsEmbed: median(small[i].map((x, r) => x.wall - small[0][r].wall - (dWall[r] - dEmbed[r]) * (corpusDocs / extra))),
        }];
      });
      console.log(`\nSteady state: the ${extra} extra documents of the larger corpus (per-document cost with start-up, model load and connections cancelled out; median over rounds)`);
      console.log("| what | documents/s on the extra documents | per-document wall vs embed | per-document CPU incl. PostgreSQL vs embed | fixed cost per run beyond embed, s |");
      console.log("| --- | ---: | ---: | ---: | ---: |");
      for (const [i, row] of steady.entries()) {
        const first = i === 0;
        console.log(`| ${row.what} | ${row.documentsPerSecond.toFixed(1)} | ${first ? "—" : pct(row.perDocumentWallVsEmbed)} | ${first ? "—" : pct(row.perDocumentCpuVsEmbed)} | ${first ? "—" : row.fixedSecondsVsEmbed.toFixed(3)} |`);
      }
      results.steadyState = steady;
    }
    console.log("(CPU (bert-ts): the bert-ts processes; CPU (PostgreSQL): the cluster's processes over the same span, in every row (embed's and SQLite's: the idle cluster's background work). Ratios: median over rounds of each round's ratio.)");
    if (!pg) console.log(`(PostgreSQL rows skipped: ${pgSkip})`);
    console.log(`load average after the throughput runs: ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);

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
