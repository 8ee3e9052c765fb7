/**
 * The server soak: a spawned `bert-ts serve` (two workers) kept saturated for 10 minutes
 * (BERT_TS_SOAK_SECONDS) by valid clients while other clients send the malformed corpus in a loop,
 * and once a minute a worker dies mid-batch (the test fault hook's `exit-once`: the crash a
 * segfault or an OOM kill would cause). Loopback only; every loop is bounded by the deadline.
 *
 * Asserted: every valid request (the crashing ones included) answered exactly as on an idle
 * server, every malformed one with a JSON 4xx, no hang, no crash, the workers back after each
 * death, and RSS flat: printed every 10 s, and from the second kill on the series' Theil–Sen slope
 * (the median of all pairwise slopes: a restart's dip or a GC swing of tens of MiB moves it little)
 * stays below 4 MiB per kill interval. RSS just before each kill is printed beside it.
 * BERT_TS_SOAK_KILL_SECONDS and BERT_TS_SOAK_SAMPLE_SECONDS shorten it for a local look.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CORPUS_FILE, modelPath } from "../test/helpers/paths.js";
import { BUILT_WORKER, MINILM, SEQCLS, call, post, rawRequest, skipUnlessServerModels, spawnServer } from "../test/server/helpers.js";
import { generateMalformed, isJsonClientError } from "../test/server/malformed-requests.js";

const SECONDS = Number(process.env.BERT_TS_SOAK_SECONDS ?? 600);
const KILL_EVERY_MS = Number(process.env.BERT_TS_SOAK_KILL_SECONDS ?? 60) * 1000;
const SAMPLE_EVERY_MS = Number(process.env.BERT_TS_SOAK_SAMPLE_SECONDS ?? 10) * 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Theil–Sen slope through (t, y): the median of the slopes between every two points. */
function theilSenSlope(points: readonly { t: number; y: number }[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      if (points[j].t > points[i].t) slopes.push((points[j].y - points[i].y) / (points[j].t - points[i].t));
    }
  }
  slopes.sort((a, b) => a - b);
  return slopes.length === 0 ? 0 : slopes[Math.floor(slopes.length / 2)];
}

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

describe("bert-ts serve: soak", { skip: skipUnlessServerModels() }, () => {
  it(`${SECONDS} s of valid and malformed traffic at saturation, a worker killed every minute: nothing lost, RSS flat`, {
    skip: !existsSync(BUILT_WORKER) && !process.env.CI && "dist/ is not built (npm run build)",
    timeout: (SECONDS + 180) * 1000,
  }, async () => {
    const { child, url, stderr, exited } = await spawnServer(
      ["--model", modelPath(MINILM), "--classifier", modelPath(SEQCLS), "--port", "0", "--request-timeout", "2", "--workers", "2", "--threads", "1", "--max-queue-wait", "120"],
      { BERT_TS_TEST_FAULTS: "1" },
    );
    let crashed = false;
    void exited.then(() => (crashed = true));
    try {
      const port = Number(new URL(url).port);
      const sentences = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.trim().length > 0);
      const valid = Array.from({ length: 24 }, (_, r) =>
        r % 4 === 3
          ? { path: "/predict", body: { inputs: [[sentences[r], sentences[r + 40]]], truncate: true } }
          : { path: "/embed", body: { inputs: Array.from({ length: 1 + (r % 6) }, (_, k) => sentences[(r * 13 + k * 7) % sentences.length]), truncate: true } },
      );
      const expected: string[] = [];
      for (const v of valid) expected.push((await post(url, v.path, v.body)).text);
      const malformed = generateMalformed();

      const deadline = Date.now() + SECONDS * 1000;
      const counts = { valid: 0, crashingValid: 0, malformed: 0, kills: 0 };
      const problems: string[] = [];
      const rss: number[] = [];
      const rssAt: { t: number; y: number }[] = [];
      const started = Date.now();
      /**
       * RSS just before each kill, with both workers live: every sample at the same point of the
       * kill cycle (a minute after the last restart), so a restart's transients do not blur the trend;
       * `rest` leaves out the HTTP thread's JS heap, which V8 grows and shrinks by tens of MiB with
       * its GC cycle (seen with no kills at all), and is where a per-restart leak would be: the
       * workers' heaps and native memory.
       */
      const beforeKill: { t: number; rss: number; rest: number }[] = [];

      const validClient = async (c: number) => {
        for (let i = c; Date.now() < deadline; i += 7) {
          const v = valid[i % valid.length];
          const res = await post(url, v.path, v.body).catch((e: Error) => ({ status: 0, text: e.message }));
          if (res.status === 200 && res.text === expected[i % valid.length]) counts.valid++;
          else problems.push(`valid ${v.path}: ${res.status} ${res.text.slice(0, 160)}`);
        }
      };
      const malformedClient = async (c: number) => {
        for (let i = c * 97; Date.now() < deadline; i++) {
          const m = malformed[i % malformed.length];
          const r = await rawRequest(port, m.chunks, { gapMs: m.gapMs, timeoutMs: 30_000 });
          if (isJsonClientError(r.status, r.body)) counts.malformed++;
          else problems.push(`malformed ${m.category}: ${r.hung ? "hung" : `${r.status} ${r.body.slice(0, 120)}`}`);
        }
      };
      const killer = async () => {
        for (let k = 1; Date.now() + KILL_EVERY_MS < deadline; k++) {
          await sleep(KILL_EVERY_MS);
          const m = (await call(url, "/metrics")).text;
          if (metric(m, "bert_ts_workers_live") === 2) {
            const rss = rssMiB(child.pid!);
            beforeKill.push({ t: Math.round((Date.now() - started) / 1000), rss, rest: rss - mib(metric(m, "bert_ts_nodejs_heap_size_total_bytes")) });
          }
          const v = valid[k % valid.length];
          const res = await post(url, v.path, v.body, { "x-bert-ts-test-fault": "exit-once" });
          counts.kills++;
          if (res.text === expected[k % valid.length]) counts.crashingValid++;
          else problems.push(`crashing valid request ${k}: ${res.status} ${res.text.slice(0, 160)}`);
        }
      };
      const sampler = async () => {
        while (Date.now() < deadline) {
          const sample = rssMiB(child.pid!);
          const m = (await call(url, "/metrics")).text;
          const t = Math.round((Date.now() - started) / 1000);
          rss.push(sample);
          rssAt.push({ t, y: sample });
          const live = metric(m, "bert_ts_workers_live") === 2;
          console.log(
            `soak t=${t} s: RSS ${sample} MiB${live ? "" : " (a worker restarting)"} (HTTP thread's JS heap ${mib(metric(m, "bert_ts_nodejs_heap_size_used_bytes"))} ` +
              `of ${mib(metric(m, "bert_ts_nodejs_heap_size_total_bytes"))} MiB), valid ${counts.valid}, malformed ${counts.malformed}, ` +
              `worker deaths ${metric(m, "bert_ts_worker_deaths_total")}, queue ${metric(m, "bert_ts_queue_requests")}, problems ${problems.length}`,
          );
          await sleep(Math.min(SAMPLE_EVERY_MS, Math.max(0, deadline - Date.now())));
        }
      };
      await Promise.all([...Array.from({ length: 7 }, (_, c) => validClient(c)), ...Array.from({ length: 3 }, (_, c) => malformedClient(c)), killer(), sampler()]);
      rss.push(rssMiB(child.pid!));

      const m = (await call(url, "/metrics")).text;
      const deaths = metric(m, "bert_ts_worker_deaths_total");
      const summary =
        `soak: ${SECONDS} s, valid answered exactly ${counts.valid} (+ ${counts.crashingValid} of ${counts.kills} that crashed their worker), ` +
        `malformed answered 4xx ${counts.malformed}, worker deaths ${deaths}, problems ${problems.length}, crashes ${crashed ? 1 : 0}\n` +
        `RSS MiB every ${SAMPLE_EVERY_MS / 1000} s: ${rss.join(" ")}`;
      console.log(summary);
      assert.equal(crashed, false, stderr());
      assert.deepEqual(problems.slice(0, 20), [], summary);
      assert.equal(deaths, counts.kills, "one worker death per kill");
      // The last kill may land just before the deadline: give its restart time.
      let workers = 0;
      for (const until = Date.now() + 120_000; Date.now() < until; await sleep(500)) {
        workers = Number((await call(url, "/ready")).json?.workers ?? 0);
        if (workers === 2) break;
      }
      assert.equal(workers, 2, "both workers back");
      // Flat: from the second kill on (warm-up and the first restart's one-off allocations behind),
      // the Theil–Sen slope of the 10 s RSS series stays below 4 MiB per kill interval. Before the
      // engine trimmed a dead worker's malloc arena (src/server/engine.ts), this soak grew 417 → 456
      // MiB in 7 min, ~5.6 MiB per kill, which fails it; runs since measured 1.5–2.4 (printed).
      assert.ok(beforeKill.length >= 3, `too few before-kill RSS samples with both workers live (${beforeKill.length}): ${summary}`);
      const from = beforeKill[1].t;
      const tail = rssAt.filter((s) => s.t >= from);
      const perKill = theilSenSlope(tail) * (KILL_EVERY_MS / 1000);
      const bound = 4;
      console.log(
        `soak before each kill, t s: RSS MiB (RSS less the HTTP thread's JS heap): ${beforeKill.map((s) => `${s.t}: ${s.rss} (${s.rest})`).join(", ")}\n` +
          `soak RSS trend from the second kill (t >= ${from} s, ${tail.length} samples): Theil–Sen slope ${perKill.toFixed(2)} MiB per kill interval (bound ${bound})`,
      );
      assert.ok(perKill <= bound, `RSS grows ${perKill.toFixed(2)} MiB per kill interval from t = ${from} s (bound ${bound}): ${summary}`);
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  });
});
