// Preloaded (node -r) into `bert-ts embed` by bench/embed-loop.ts: prints the process' CPU time (user +
// sys) and wall time between the CLI's "bert-ts: pooling ..." line, written right before the
// embedding loop, and its "bert-ts: embedded N texts" line, written right after it.
"use strict";
const write = process.stderr.write.bind(process.stderr);
let cpu, wall;
process.stderr.write = (chunk, ...rest) => {
  const s = String(chunk);
  if (s.startsWith("bert-ts: pooling")) {
    cpu = process.cpuUsage();
    wall = process.hrtime.bigint();
  } else if (s.startsWith("bert-ts: embedded") && cpu) {
    const used = process.cpuUsage(cpu);
    const ms = Number(process.hrtime.bigint() - wall) / 1e6;
    write(`EMBED-LOOP cpu_ms=${((used.user + used.system) / 1000).toFixed(1)} wall_ms=${ms.toFixed(1)}\n`);
  }
  return write(chunk, ...rest);
};
