/**
 * A layer's output projection with its residual + LayerNorm (MiniLM shapes, m = 212 rows: one 256-row
 * block of corpus sentences): `linearAddLayerNorm` of this build against `linear` then `addLayerNorm`
 * of another build of the addon (BERT_TS_BASELINE_ADDON=path, e.g. main's
 * native/build/Release/bert_ts_native.node; without it, this build's own two passes), in the same
 * process, alternating, 6 layers' distinct weights, process CPU time per call, median of 21 rounds.
 *
 *   node --import tsx bench/output-layernorm.ts [float32|bf16|int8] [threads]
 *
 * On 2 threads process CPU time includes the helper's spinning between tasks, so it follows the wall
 * clock; on 1 thread it is the work.
 */
import { createRequire } from "node:module";
import type { Dtype } from "../src/backend/backend.js";
import { NativeBackend, loadNativeAddon, type NativeAddon } from "../src/backend/native.js";

const { addon, reason } = loadNativeAddon();
if (!addon) throw new Error(`needs the native backend: ${reason}`);
const basePath = process.env.BERT_TS_BASELINE_ADDON;
const base = basePath ? (createRequire(import.meta.url)(basePath) as NativeAddon) : addon;
const dtype = (process.argv[2] ?? "int8") as Dtype;
const threads = Number(process.argv[3] ?? addon.info().threads);
const m = 212;
for (const a of [addon, base]) a.setThreads(threads);

let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff - 0.5);
const shapes: [string, number, number][] = [["attention output", 384, 384], ["FFN output", 1536, 384]];
const weights = Array.from({ length: 6 }, () =>
  shapes.map(([, k, n]) => ({ w: Float32Array.from({ length: n * k }, () => rnd() * 0.1), b: Float32Array.from({ length: n }, () => rnd() * 0.1), n, k })),
);
const x: Record<number, Float32Array> = { 384: Float32Array.from({ length: m * 384 }, () => rnd() * 2), 1536: Float32Array.from({ length: m * 1536 }, () => rnd() * 2) };
const residual = Float32Array.from({ length: m * 384 }, () => rnd() * 2);
const gamma = Float32Array.from({ length: 384 }, () => 1 + rnd());
const beta = Float32Array.from({ length: 384 }, () => rnd());
const tmp = new Float32Array(m * 384);
const y = new Float32Array(m * 384);
const side = (a: NativeAddon) => {
  const nb = new NativeBackend(a, undefined, dtype);
  return { nb, layers: weights.map((l) => l.map(({ w, b, n, k }) => nb.prepareLinear(w, b, n, k))) };
};
const fused = side(addon);
const twoPass = side(base);
const times = [shapes.map(() => [] as number[]), shapes.map(() => [] as number[])];
const reps = 10;
for (let round = 0; round < 21; round++) {
  for (const which of round % 2 ? [1, 0] : [0, 1]) {
    const { nb, layers } = which === 0 ? fused : twoPass;
    const used = shapes.map(() => 0);
    for (let r = 0; r < reps; r++) {
      for (const layer of layers) {
        shapes.forEach(([, k], i) => {
          const t0 = process.cpuUsage();
          if (which === 0) nb.linearAddLayerNorm(x[k], m, layer[i], residual, { gamma, beta, eps: 1e-12 }, y);
          else nb.addLayerNorm(nb.linear(x[k], m, layer[i], "none", tmp), residual, m, 384, gamma, beta, 1e-12, y);
          const u = process.cpuUsage(t0);
          used[i] += u.user + u.system;
        });
      }
    }
    used.forEach((t, i) => times[which][i].push(t / reps / layers.length));
  }
}
const median = (a: number[]) => a.slice().sort((p, q) => p - q)[a.length >> 1];
console.log(`${dtype}, ${threads} thread(s), m = ${m}; two passes: ${basePath ?? "this build"}`);
console.log("| op | linear + addLayerNorm µs | linearAddLayerNorm µs | ratio |");
console.log("| --- | ---: | ---: | ---: |");
shapes.forEach(([name, k, n], i) => {
  const a = median(times[1][i]);
  const b = median(times[0][i]);
  console.log(`| ${name} ${k}→${n} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)}x |`);
});
