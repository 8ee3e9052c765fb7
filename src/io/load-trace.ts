/**
 * Start-up trace: with BERT_TS_TRACE_LOAD=1 each step of a start (module loading, tokenizer, weights,
 * packed-weight cache, first batch) writes one line to stderr — ms since the process started, and
 * the process's CPU ms and page faults so far. On a loaded machine wall clock says little; CPU time
 * and page faults (each fresh page costs ~15 µs on some VMs) say where a start spends its work.
 * bench/startup.ts reads these lines; bin/bert-ts.js writes the first one in the same format.
 */
const enabled = process.env.BERT_TS_TRACE_LOAD === "1";

/** Notes that `step` just finished (a no-op unless BERT_TS_TRACE_LOAD=1). */
export function traceLoad(step: string): void {
  if (!enabled) return;
  const usage = process.resourceUsage();
  const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
  process.stderr.write(`bert-ts: load-trace ${step} ${performance.now().toFixed(1)} ms, cpu ${cpuMs.toFixed(1)} ms, faults ${usage.minorPageFault + usage.majorPageFault}\n`);
}
