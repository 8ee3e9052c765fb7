/**
 * HTTP for the hub over Node's global fetch: bounded waits, a bounded number of retries, manual
 * redirects (the hub's metadata headers sit on the first response, and the token must not follow
 * a redirect to the LFS storage host), and bodies streamed to disk, never held in memory.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { blobPath, tempBeside } from "./hub-cache.js";
import type { ProgressSink } from "./progress.js";

export interface HttpSettings {
  fetch: typeof fetch;
  /** Sent as `Authorization: Bearer` to the endpoint's own origin only. */
  token?: string;
  /** Longest wait for response headers, and for the next chunk of a body. */
  timeoutMs: number;
  /** Extra attempts after a network error, a timeout, 429 or 5xx. 4xx answers are final. */
  retries: number;
}

export class HubHttpError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    statusText: string,
    readonly errorCode?: string,
  ) {
    super(`${url} answered ${status}${statusText ? ` ${statusText}` : ""}${errorCode ? ` (${errorCode})` : ""}`);
    this.name = "HubHttpError";
  }
}

/** An error worth another attempt: the network, a timeout, or the server's own failure. */
function isTransient(err: unknown): boolean {
  if (err instanceof HubHttpError) return err.status === 429 || err.status >= 500;
  if (err instanceof FinalError) return false;
  // Local file-system failures (ENOSPC, EACCES, ...) carry a syscall; another try will not help.
  return !(err instanceof Error && "syscall" in err);
}

/** A failure that repeating the request cannot fix (bad checksum, missing etag, redirect loop). */
class FinalError extends Error {}

const MAX_REDIRECTS = 5;
const BACKOFF_MS = 250;

export async function withRetries<T>(retries: number, what: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await what();
    } catch (err) {
      if (attempt >= retries || !isTransient(err)) throw err;
      await new Promise((r) => setTimeout(r, BACKOFF_MS * 2 ** attempt));
    }
  }
}

/** An abort timer that a body reader re-arms on every chunk: it fires only when data stalls. */
class Stall {
  private readonly ctrl = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  constructor(private readonly ms: number, private readonly url: string) {
    this.kick();
  }
  get signal(): AbortSignal {
    return this.ctrl.signal;
  }
  kick(): void {
    this.clear();
    this.timer = setTimeout(() => this.ctrl.abort(new Error(`${this.url}: no data for ${this.ms} ms`)), this.ms);
  }
  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

function headersFor(url: string, http: HttpSettings, authOrigin: string): Record<string, string> {
  const h: Record<string, string> = { "user-agent": "bert-ts" };
  if (http.token && new URL(url).origin === authOrigin) h.authorization = `Bearer ${http.token}`;
  return h;
}

/** GET a JSON document (the hub's API), following redirects within the endpoint's origin. */
export async function getJson(url: string, http: HttpSettings): Promise<unknown> {
  return withRetries(http.retries, async () => {
    const stall = new Stall(http.timeoutMs, url);
    try {
      const origin = new URL(url).origin;
      const res = await http.fetch(url, { headers: headersFor(url, http, origin), signal: stall.signal });
      if (!res.ok) {
        await res.body?.cancel();
        throw new HubHttpError(url, res.status, res.statusText, res.headers.get("x-error-code") ?? undefined);
      }
      return (await res.json()) as unknown;
    } finally {
      stall.clear();
    }
  });
}

export interface FileMeta {
  /** Blob name: the LFS sha256 (`x-linked-etag`) or the git blob id (`etag`), unquoted. */
  etag: string;
  commit?: string;
}

/** `W/"abc"` → `abc`, as huggingface_hub names blobs. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}

/**
 * Downloads `url` into `<repoDir>/blobs/<etag>`, unless that blob is already there (another
 * revision may share it). The body goes to a uniquely named `.incomplete` file that is renamed
 * into place only once complete and checked, and removed on any failure.
 */
export async function downloadBlob(
  url: string,
  repoDir: string,
  http: HttpSettings,
  progress?: (total: number | undefined) => ProgressSink,
): Promise<FileMeta> {
  return withRetries(http.retries, () => downloadOnce(url, repoDir, http, progress));
}

async function downloadOnce(
  url: string,
  repoDir: string,
  http: HttpSettings,
  progress?: (total: number | undefined) => ProgressSink,
): Promise<FileMeta> {
  const authOrigin = new URL(url).origin;
  const stall = new Stall(http.timeoutMs, url);
  try {
    let target = url;
    let etag: string | undefined;
    let commit: string | undefined;
    let size: number | undefined;
    let res: Response;
    for (let hop = 0; ; hop++) {
      res = await http.fetch(target, {
        headers: headersFor(target, http, authOrigin),
        redirect: "manual",
        signal: stall.signal,
      });
      stall.kick();
      // The hub's own response names the blob; a storage host's etag is only a fallback.
      const linked = res.headers.get("x-linked-etag") ?? res.headers.get("etag");
      if (etag === undefined && linked) etag = normalizeEtag(linked);
      commit ??= res.headers.get("x-repo-commit") ?? undefined;
      size ??= numberHeader(res.headers.get("x-linked-size"));
      const location = res.headers.get("location");
      if (![301, 302, 303, 307, 308].includes(res.status) || !location) break;
      await res.body?.cancel();
      if (hop >= MAX_REDIRECTS) throw new FinalError(`${url}: more than ${MAX_REDIRECTS} redirects`);
      target = new URL(location, target).toString();
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new HubHttpError(url, res.status, res.statusText, res.headers.get("x-error-code") ?? undefined);
    }
    if (etag === undefined || etag === "" || !/^[\w.-]+$/.test(etag)) {
      await res.body?.cancel();
      throw new FinalError(`${url}: the hub sent no usable etag, so the file cannot be cached`);
    }
    const final = blobPath(repoDir, etag);
    if (existsSync(final)) {
      await res.body?.cancel();
      return { etag, commit };
    }
    const length = numberHeader(res.headers.get("content-length"));
    await writeBody(res, final, etag, length ?? size, url, stall, progress);
    return { etag, commit };
  } finally {
    stall.clear();
  }
}

async function writeBody(
  res: Response,
  final: string,
  etag: string,
  expected: number | undefined,
  url: string,
  stall: Stall,
  progress?: (total: number | undefined) => ProgressSink,
): Promise<void> {
  await mkdir(dirname(final), { recursive: true });
  const tmp = tempBeside(final, ".incomplete");
  // LFS blobs are named by their sha256: check it, so a corrupted transfer never enters the cache.
  const sha = /^[0-9a-f]{64}$/.test(etag) ? createHash("sha256") : undefined;
  const bar = progress?.(expected);
  const file = await open(tmp, "w");
  let received = 0;
  let ok = false;
  try {
    if (!res.body) throw new Error(`${url}: empty response`);
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      stall.kick();
      await file.write(value);
      sha?.update(value);
      received += value.byteLength;
      bar?.update(received);
    }
    if (expected !== undefined && received !== expected) {
      throw new Error(`${url}: connection closed after ${received} of ${expected} bytes`);
    }
    if (sha) {
      const got = sha.digest("hex");
      if (got !== etag) throw new FinalError(`${url}: sha256 ${got} does not match the hub's ${etag}`);
    }
    await file.close();
    await rename(tmp, final);
    ok = true;
  } catch (err) {
    throw describeBodyError(err, url, received, expected);
  } finally {
    bar?.done();
    if (!ok) {
      await file.close().catch(() => undefined);
      await rm(tmp, { force: true });
    }
  }
}

/** undici reports a dropped connection as a bare "terminated"; say what happened. */
function describeBodyError(err: unknown, url: string, received: number, expected: number | undefined): unknown {
  if (err instanceof Error && err.message === "terminated") {
    const of = expected === undefined ? "" : ` of ${expected}`;
    return new Error(`${url}: connection closed after ${received}${of} bytes`, { cause: err });
  }
  return err;
}

function numberHeader(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v)) return undefined;
  return Number(v);
}
