/** The browser's stand-in for src/io/load-trace.ts: no process to trace. */
export function traceLoad(_step: string): void {}
