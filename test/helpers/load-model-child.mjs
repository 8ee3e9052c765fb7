// Child process of the corrupt-model runner (corrupt-models.ts): loads the folder given as argument
// with the built library, embeds two texts, and prints one JSON line: ok or the error message, the
// warnings emitted, and the peak RSS.
import { readFileSync } from "node:fs";
import { SentenceEncoder } from "../../dist/index.js";

const warnings = [];
process.on("warning", (w) => warnings.push(w.message));

let report;
try {
  const encoder = await SentenceEncoder.load(process.argv[2]);
  await encoder.embed(["hello world", "a b c"]);
  report = { ok: true };
} catch (err) {
  report = { ok: false, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
}
await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
process.stdout.write(JSON.stringify({ ...report, warnings, maxRssKb: peakRssKb() }) + "\n");

/** VmHWM: this process's own peak (getrusage's maxRSS carries the parent's over fork + exec). */
function peakRssKb() {
  return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? 0);
}
