// RSS of a 2-worker inference engine under saturating traffic while one worker is killed (test fault
// "exit") every PERIOD ms: the soak's leak question without HTTP or the soak's 10 minutes.
// Usage: npm run build && KILLS=50 PERIOD=3000 node --expose-gc bench/worker-restart-rss.mjs
// Prints the RSS after each restart, and its Theil–Sen slope per kill from the third sample on.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const MODELS = process.env.BERT_TS_MODELS ?? join(ROOT, "..", "shared", "models");
const { InferenceEngine } = await import(pathToFileURL(join(ROOT, "dist", "server", "engine.js")).href);
const kills = Number(process.env.KILLS ?? 12);
const period = Number(process.env.PERIOD ?? 5000);
const rssMiB = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const engine = await InferenceEngine.start(
  { embedding: join(MODELS, "minilm-l6-h384-random"), classifier: join(MODELS, "bert-micro-seqcls-random"), testFaults: true },
  { workers: 2, threadsPerWorker: 1 },
);
let seq = 0;
/** A packed batch of 1–6 sequences of 8–127 token ids, varied so buffers of many sizes come and go. */
function batch(model) {
  const n = 8 + ((seq++ * 37) % 120);
  const b = 1 + (seq % 6);
  const ids = Int32Array.from({ length: b * n }, (_, i) => 1 + ((i * 7) % 500));
  return { model, ids, typeIds: new Int32Array(b * n), starts: Int32Array.from({ length: b + 1 }, (_, i) => i * n), outputs: new Uint8Array(b) };
}
let stop = false;
const client = async (c) => {
  while (!stop) await engine.run(batch(c % 3 ? "embedding" : "classifier")).catch(() => {});
};
const clients = Array.from({ length: 6 }, (_, c) => client(c));
const series = [];
for (let k = 0; k <= kills; k++) {
  await sleep(period);
  if (k > 0) {
    const before = engine.restarts;
    await engine.run({ ...batch("embedding"), fault: "exit" }).catch(() => {});
    while (engine.restarts === before || engine.live < 2) await sleep(50);
  }
  await sleep(500);
  series.push(rssMiB());
}
stop = true;
await Promise.all(clients);
await engine.stop();
const tail = series.slice(2);
const slopes = [];
for (let i = 0; i < tail.length; i++) for (let j = i + 1; j < tail.length; j++) slopes.push((tail[j] - tail[i]) / (j - i));
slopes.sort((a, b) => a - b);
console.log(`RSS MiB after each of ${kills} worker restarts: ${series.join(" ")}`);
console.log(`Theil–Sen slope from the third sample: ${slopes[slopes.length >> 1].toFixed(3)} MiB per kill`);
