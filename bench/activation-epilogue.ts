/**
 * What the activation costs inside a linear layer's epilogue: the FFN-up shape of a corpus batch
 * (1216 rows x 384 -> 1536, MiniLM) with GELU and without, per dtype, on ONE thread, process CPU
 * time, median of 7 (20 calls each), for this build and, when BERT_TS_BASELINE_ADDON=path is set,
 * another build of the addon in the same run (alternating).
 *
 *   node --import tsx bench/activation-epilogue.ts
 */
import { createRequire } from "node:module";
import { NativeBackend, loadNativeAddon, type NativeAddon } from "../src/backend/native.js";

const [m, k, n] = [1216, 384, 1536];

function cost(addon: NativeAddon, dtype: "float32" | "int8" | "bf16"): { none: number; gelu: number } {
  const nb = new NativeBackend(addon, undefined, dtype);
  const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
  const w = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i) * 0.05);
  const p = nb.prepareLinear(w, new Float32Array(n), n, k);
  const y = new Float32Array(m * n);
  const t = { none: [] as number[], gelu: [] as number[] };
  for (let r = 0; r < 7; r++)
    for (const act of ["none", "gelu"] as const) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < 20; i++) nb.linear(x, m, p, act, y);
      const u = process.cpuUsage(t0);
      t[act].push((u.user + u.system) / 1000 / 20);
    }
  nb.dispose();
  const med = (a: number[]) => [...a].sort((a, b) => a - b)[3];
  return { none: med(t.none), gelu: med(t.gelu) };
}

const { addon, reason } = loadNativeAddon();
if (!addon) {
  console.log(`activation-epilogue bench: skipped (${reason})`);
} else {
  const basePath = process.env.BERT_TS_BASELINE_ADDON;
  const builds: [string, NativeAddon][] = [["this build", addon]];
  if (basePath) builds.push(["baseline", createRequire(import.meta.url)(basePath) as NativeAddon]);
  for (const [, a] of builds) a.setThreads(1);
  console.log(`FFN-up ${m} x ${k} -> ${n}, 1 thread, CPU ms per call (median of 7):`);
  console.log("| dtype | build | no activation | GELU | GELU's cost |");
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const dtype of ["float32", "int8", "bf16"] as const)
    for (const [name, a] of builds) {
      const c = cost(a, dtype);
      console.log(`| ${dtype} | ${name} | ${c.none.toFixed(2)} | ${c.gelu.toFixed(2)} | +${(c.gelu - c.none).toFixed(2)} (${((100 * (c.gelu - c.none)) / c.none).toFixed(0)}%) |`);
    }
}
