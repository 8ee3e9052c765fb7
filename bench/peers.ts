/**
 * The libraries benchmarks compare bert-ts with live in bench/peers (their own package.json), never
 * in bert-ts's dependencies: @huggingface/transformers pulls onnxruntime-node, whose install script
 * downloads binaries from the internet. They are installed on demand with scripts disabled (the CPU
 * runtime ships inside the npm package).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PEERS_DIR = join(dirname(fileURLToPath(import.meta.url)), "peers");

/** Installs bench/peers if needed; returns false (with a message) when that is impossible. */
export function ensurePeers(): boolean {
  if (existsSync(join(PEERS_DIR, "node_modules", "@huggingface", "transformers", "package.json"))) return true;
  process.stderr.write("Installing the benchmark peers (@huggingface/transformers) into bench/peers ...\n");
  try {
    execFileSync("npm", ["install", "--prefix", PEERS_DIR, "--ignore-scripts", "--no-audit", "--no-fund"], { stdio: "inherit" });
    return true;
  } catch (err) {
    process.stderr.write(`Could not install the peers (${err instanceof Error ? err.message : String(err)}); benchmarking bert-ts alone.\n`);
    return false;
  }
}
