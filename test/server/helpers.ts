/** Starting a real server on loopback (port 0) and talking to it with fetch, for the server tests. */
import { startServer, type RunningServer } from "../../src/server/app.js";
import type { ServerOptions } from "../../src/server/options.js";
import { modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

export const MINILM = "minilm-l6-h384-random";
export const SEQCLS = "bert-micro-seqcls-random";

/** node:test skip reason when the shared models or goldens are absent (CI fails instead). */
export function skipUnlessServerModels(): string | false {
  return skipUnlessModel(MINILM) || skipUnlessModel(SEQCLS) || skipUnlessGolden(`${MINILM}.json`) || skipUnlessGolden(`${SEQCLS}.json`);
}

export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startServer({ model: modelPath(MINILM), classifier: modelPath(SEQCLS), host: "127.0.0.1", port: 0, ...options });
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body (undefined when the body is not JSON). */
  json: any;
}

export async function call(base: string, path: string, init: { method?: string; body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string> } = {}): Promise<Reply> {
  const hasBody = init.body !== undefined || init.raw !== undefined;
  const res = await fetch(base + path, {
    method: init.method ?? (hasBody ? "POST" : "GET"),
    headers: { ...(hasBody ? { "content-type": "application/json" } : {}), ...init.headers },
    body: init.raw ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export function post(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return call(base, path, { body, headers });
}

/** The value at the given quantile (0..1) of a list of numbers. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
