#!/usr/bin/env node
// The peer for the end-to-end benchmark, used the way a transformers.js user would: the
// feature-extraction pipeline on the fp32 ONNX export, mean pooling + normalise, a file of texts in,
// JSONL out. Usage: node embed-transformersjs.mjs --model DIR --input FILE --batch-size N --output FILE
// [--limit N (first N texts)] [--report FILE (writes {loadMs, peakRssMB}: pipeline load time, VmHWM)]
import { readFileSync, writeFileSync } from "node:fs";
import { pipeline, env } from "@huggingface/transformers";

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
env.allowRemoteModels = false;
env.allowLocalModels = true;
const texts = readFileSync(args.input, "utf8").split("\n").filter((l) => l.trim().length > 0).slice(0, args.limit ? Number(args.limit) : undefined);
const batchSize = Number(args["batch-size"] ?? 32);
const started = performance.now();
const extractor = await pipeline("feature-extraction", args.model, { local_files_only: true, dtype: "fp32" });
const loadMs = performance.now() - started;
const out = [];
for (let i = 0; i < texts.length; i += batchSize) {
  const batch = texts.slice(i, i + batchSize);
  const t = await extractor(batch, { pooling: "mean", normalize: true });
  const dim = t.dims[1];
  for (let b = 0; b < batch.length; b++) out.push(JSON.stringify({ text: batch[b], embedding: Array.from(t.data.subarray(b * dim, (b + 1) * dim)) }));
}
writeFileSync(args.output, out.join("\n") + "\n");
if (args.report) {
  // VmHWM, not resourceUsage().maxRSS: Linux carries maxRSS over exec from the forked parent.
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  writeFileSync(args.report, JSON.stringify({ loadMs, peakRssMB: Number(hwm?.[1] ?? 0) / 1024 }));
}
