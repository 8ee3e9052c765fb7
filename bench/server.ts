/**
 * `bert-ts serve` under load: autocannon on loopback against a server in its own process.
 *
 *   npm run bench:server        (or: node --import tsx bench/server.ts)
 *
 * For each concurrency (1, 8, 32, 128 connections) POST /embed with TEI bodies of corpus sentences
 * for a fixed time, then one run past the queue limit (a second server with a small --max-queue),
 * where the only errors allowed are 429s carrying Retry-After. Reports requests/s, embeddings/s,
 * p50/p99 latency, /health p99 while loaded, errors, and the server's RSS before and after.
 * Prints a table and writes bench/results/server.json.
 * Env: BERT_TS_BENCH_SECONDS (per run, default 10), BERT_TS_BENCH_CONNECTIONS (default 1,8,32,128),
 * BERT_TS_BENCH_INPUTS (sentences per request, default 4), BERT_TS_BENCH_MODEL (default the
 * shared minilm-l6-h384-random), BERT_TS_THREADS.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { ServerOptions } from "../src/server/options.js";

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, "..");

// ---- the server side: `bench/server.ts --child '{options}'` runs one server and prints its URL.

async function runChild(json: string): Promise<void> {
  const { startServer } = await import("../src/server/app.js");
  const server = await startServer(JSON.parse(json) as Partial<ServerOptions> & { model: string });
  process.stdout.write(`${server.url}\n`);
  process.on("SIGTERM", () => void server.close().then(() => process.exit(0)));
}

// ---- the load side.

interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  requests: { method: string; path: string; headers: Record<string, string>; body: string }[];
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
  statusCodeStats: Record<string, { count: number }>;
}

const autocannon = createRequire(import.meta.url)("autocannon") as (options: AutocannonOptions) => Promise<AutocannonResult>;

interface Row {
  scenario: string;
  connections: number;
  maxQueue: number;
  seconds: number;
  requestsPerSecond: number;
  embeddingsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  healthP99Ms: number;
  ok: number;
  status429: number;
  otherNon2xx: number;
  errors: number;
  timeouts: number;
  retryAfterSeen: boolean | null;
  /** Server RSS once the run's requests were all answered. */
  rssMiB: number;
}

interface ChildServer {
  url: string;
  process: ChildProcess;
}

async function startChild(options: Partial<ServerOptions>): Promise<ChildServer> {
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), "--child", JSON.stringify(options)], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolveUrl(out.split("\n")[0].trim());
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url, process: child };
}

async function stopChild(server: ChildServer): Promise<void> {
  const exited = new Promise((r) => server.process.once("exit", r));
  server.process.kill("SIGTERM");
  await exited;
}

/** Resident set size of a process, in MiB (Linux). */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Probes /health (and, when asked, /embed for Retry-After) every 50 ms until stopped, from a
 * worker thread: autocannon keeps this thread busy, and its lag must not count as the server's.
 */
const PROBE = `
const { parentPort, workerData } = require("node:worker_threads");
let running = true;
let retryAfterSeen = false;
const latencies = [];
parentPort.on("message", () => (running = false));
(async () => {
  while (running) {
    const t = performance.now();
    await fetch(workerData.url + "/health").then((r) => r.arrayBuffer());
    latencies.push(performance.now() - t);
    if (workerData.body) {
      const r = await fetch(workerData.url + "/embed", { method: "POST", headers: { "content-type": "application/json" }, body: workerData.body });
      await r.arrayBuffer();
      if (r.status === 429 && Number(r.headers.get("retry-after")) >= 1) retryAfterSeen = true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  parentPort.postMessage({ latencies, retryAfterSeen });
})();
`;

function probe(url: string, body: string | undefined): { stop: () => Promise<{ healthP99: number; retryAfterSeen: boolean }> } {
  const worker = new Worker(PROBE, { eval: true, workerData: { url, body } });
  const result = new Promise<{ latencies: number[]; retryAfterSeen: boolean }>((resolveResult) => worker.once("message", resolveResult));
  return {
    stop: async () => {
      worker.postMessage("stop");
      const { latencies, retryAfterSeen } = await result;
      await worker.terminate();
      return { healthP99: quantile(latencies, 0.99), retryAfterSeen };
    },
  };
}

/** Waits until the server has answered everything a previous run left queued. */
async function waitIdle(url: string): Promise<void> {
  for (;;) {
    const metrics = await (await fetch(`${url}/metrics`)).text();
    if (/^bert_ts_queue_requests 0$/m.test(metrics)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function load(scenario: string, server: ChildServer, connections: number, maxQueue: number, seconds: number, bodies: string[], inputsPerRequest: number, watch429: boolean): Promise<Row> {
  await waitIdle(server.url);
  const probes = probe(server.url, watch429 ? bodies[0] : undefined);
  const result = await autocannon({
    url: server.url,
    connections,
    duration: seconds,
    requests: bodies.map((body) => ({ method: "POST", path: "/embed", headers: { "content-type": "application/json" }, body })),
  });
  const { healthP99, retryAfterSeen } = await probes.stop();
  await waitIdle(server.url);
  const status429 = result.statusCodeStats["429"]?.count ?? 0;
  const ok = result["2xx"];
  return {
    scenario,
    connections,
    maxQueue,
    seconds,
    requestsPerSecond: ok / seconds,
    embeddingsPerSecond: (ok * inputsPerRequest) / seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    healthP99Ms: healthP99,
    ok,
    status429,
    otherNon2xx: result.non2xx - status429,
    errors: result.errors,
    timeouts: result.timeouts,
    retryAfterSeen: watch429 ? retryAfterSeen : null,
    rssMiB: rssMiB(server.process.pid!),
  };
}

function table(rows: Row[]): string {
  const head = ["scenario", "conns", "req/s", "emb/s", "p50 ms", "p99 ms", "/health p99", "2xx", "429", "other", "errors", "RSS MiB"];
  const body = rows.map((r) => [
    r.scenario,
    String(r.connections),
    r.requestsPerSecond.toFixed(1),
    r.embeddingsPerSecond.toFixed(1),
    r.p50Ms.toFixed(0),
    r.p99Ms.toFixed(0),
    r.healthP99Ms.toFixed(1),
    String(r.ok),
    String(r.status429),
    String(r.otherNon2xx),
    String(r.errors + r.timeouts),
    r.rssMiB.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  return [head, ...body].map((cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BERT_TS_BENCH_SECONDS ?? 10);
  const levels = (process.env.BERT_TS_BENCH_CONNECTIONS ?? "1,8,32,128").split(",").map(Number);
  const inputsPerRequest = Number(process.env.BERT_TS_BENCH_INPUTS ?? 4);
  const model = resolve(process.env.BERT_TS_BENCH_MODEL ?? join(repoRoot, "..", "shared", "models", "minilm-l6-h384-random"));
  const corpus = readFileSync(process.env.BERT_TS_CORPUS ?? join(repoRoot, "..", "shared", "corpus", "license-sentences.txt"), "utf8")
    .split("\n")
    .filter((l) => l.trim().length > 0);
  // 16 different bodies, cycled by every connection.
  const bodies = Array.from({ length: 16 }, (_, r) =>
    JSON.stringify({ inputs: Array.from({ length: inputsPerRequest }, (_, k) => corpus[(r * 37 + k * 11) % corpus.length]), truncate: true }),
  );
  const maxQueue = 512;
  const rows: Row[] = [];

  const server = await startChild({ model, port: 0, maxQueue });
  // Warm up at the highest concurrency (the largest batches set the memory high-water mark), then
  // measure memory: what the runs add after that would be growth.
  await load("warm-up", server, Math.max(...levels), maxQueue, seconds, bodies, inputsPerRequest, false);
  await waitIdle(server.url);
  const rssBefore = rssMiB(server.process.pid!);
  for (const connections of levels) {
    const row = await load("embed", server, connections, maxQueue, seconds, bodies, inputsPerRequest, false);
    rows.push(row);
    process.stderr.write(`${table([row]).split("\n")[1]}\n`);
  }
  await waitIdle(server.url);
  const rssAfter = rssMiB(server.process.pid!);
  await stopChild(server);

  // Past the queue limit: 128 connections against 16 queue places.
  const small = await startChild({ model, port: 0, maxQueue: 16 });
  const over = await load("over queue (16)", small, 128, 16, seconds, bodies, inputsPerRequest, true);
  rows.push(over);
  await stopChild(small);

  const belowLimitClean = rows.filter((r) => r.scenario === "embed").every((r) => r.status429 + r.otherNon2xx + r.errors + r.timeouts === 0);
  const overloadCorrect = over.status429 > 0 && over.otherNon2xx === 0 && over.errors + over.timeouts === 0 && over.retryAfterSeen === true;
  console.log(table(rows));
  console.log(`\nserver RSS: ${rssBefore.toFixed(1)} MiB before the runs, ${rssAfter.toFixed(1)} MiB after (${(rssAfter - rssBefore >= 0 ? "+" : "")}${(rssAfter - rssBefore).toFixed(1)} MiB)`);
  console.log(`below the queue limit: ${belowLimitClean ? "no errors" : "ERRORS"}; past it: ${overloadCorrect ? "429 with Retry-After only" : "UNEXPECTED RESPONSES"}`);
  console.log(`${inputsPerRequest} sentences per request, ${seconds} s per run; ${cpus()[0]?.model ?? "cpu"} x${availableParallelism()}, load ${loadavg()[0].toFixed(2)}`);

  mkdirSync(join(benchDir, "results"), { recursive: true });
  const file = join(benchDir, "results", "server.json");
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        model,
        inputsPerRequest,
        seconds,
        cpus: availableParallelism(),
        loadAverage: loadavg()[0],
        rows,
        rssMiB: { before: rssBefore, after: rssAfter },
        belowLimitClean,
        overloadCorrect,
      },
      null,
      2,
    ) + "\n",
  );
  console.log(`wrote ${file}`);
  if (!belowLimitClean || !overloadCorrect) process.exitCode = 1;
}

const childAt = process.argv.indexOf("--child");
if (childAt >= 0) await runChild(process.argv[childAt + 1]);
else await main();
