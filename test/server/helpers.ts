/** Starting a real server on loopback (port 0) and talking to it with fetch, for the server tests. */
import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import { join } from "node:path";
import { startServer, type RunningServer } from "../../src/server/app.js";
import type { ServerOptions } from "../../src/server/options.js";
import { REPO_ROOT, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

export const MINILM = "minilm-l6-h384-random";
export const SEQCLS = "bert-micro-seqcls-random";

/** node:test skip reason when the shared models or goldens are absent (CI fails instead). */
export function skipUnlessServerModels(): string | false {
  return skipUnlessModel(MINILM) || skipUnlessModel(SEQCLS) || skipUnlessGolden(`${MINILM}.json`) || skipUnlessGolden(`${SEQCLS}.json`);
}

export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<RunningServer> {
  return startServer({ model: modelPath(MINILM), classifier: modelPath(SEQCLS), host: "127.0.0.1", port: 0, ...options });
}

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
/** Tests that spawn the CLI run the compiled server (npm test builds it first). */
export const BUILT_WORKER = join(REPO_ROOT, "dist", "server", "worker.js");

/** Starts the CLI and resolves with its URL (the first stdout line). */
export function spawnServer(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, "serve", ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, BERT_TS_BACKEND: "", ...env } });
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL after 60 s; stderr: ${err}`)), 60_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve({ child, url: line.trim(), stderr: () => err, exited });
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
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

export interface RawReply {
  /** 0 when the server closed the connection without an answer. */
  status: number;
  head: string;
  body: string;
  /** No answer and no close within the time limit. */
  hung: boolean;
}

/**
 * One HTTP exchange over a plain socket, for requests fetch cannot send (broken framing, odd
 * headers, bodies trickled or cut short): writes `chunks` (pausing `gapMs` between them), then
 * resolves with the first response, or status 0 when the server closes without one.
 */
export function rawRequest(port: number, chunks: (string | Uint8Array)[], options: { gapMs?: number; timeoutMs?: number } = {}): Promise<RawReply> {
  const { gapMs = 0, timeoutMs = 20_000 } = options;
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (hung: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const text = data.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const head = end >= 0 ? text.slice(0, end) : text;
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: end >= 0 ? data.subarray(end + 4).toString("utf8") : "", hung });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on("data", (d: Buffer) => {
      data = Buffer.concat([data, d]);
      const text = data.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end));
      if (length && data.length - end - 4 >= Number(length[1])) finish(false);
    });
    socket.on("error", () => finish(false));
    socket.on("close", () => finish(false));
    void (async () => {
      for (const chunk of chunks) {
        if (settled || socket.destroyed) return;
        socket.write(chunk);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
    })();
  });
}
