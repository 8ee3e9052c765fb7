/**
 * A stand-in for the Hugging Face hub on loopback, serving model folders the way the real one
 * does: `/api/models/<id>/revision/<rev>` → `{ sha, siblings }`, and
 * `/<id>/resolve/<rev>/<file>` with `x-repo-commit` and `etag` (the git blob id); weight files
 * answer with a 302 to a second server (a different origin, like the LFS storage host) and carry
 * `x-linked-etag` (their sha256) and `x-linked-size`. Missing repos and files get 404.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join, relative, sep } from "node:path";

export interface FakeRevision {
  /** 40-hex commit hash. */
  commit: string;
  /** Branch or tag names that point at this commit. */
  names: string[];
  /** Folder whose files are the repository at this commit. */
  dir: string;
}

export interface FakeHubOptions {
  /** Repository id → its revisions. */
  repos: Record<string, FakeRevision[]>;
  /** Files served through the LFS redirect. Default: *.safetensors and *.bin. */
  isLfs?: (file: string) => boolean;
  /** Send only `afterBytes` of this file's body, then drop the connection, `times` times. */
  truncate?: { file: string; afterBytes: number; times: number };
  /** Advertise a wrong sha256 (`x-linked-etag`) for this LFS file, as a corrupted transfer would look. */
  wrongSha?: string;
  /** When set, the hub (not the storage host) answers 401 without `Authorization: Bearer <token>`. */
  requireToken?: string;
}

export interface LoggedRequest {
  server: "hub" | "lfs";
  method: string;
  path: string;
  authorization?: string;
}

export interface FakeHub {
  endpoint: string;
  requests: LoggedRequest[];
  close(): Promise<void>;
}

const defaultIsLfs = (f: string): boolean => f.endsWith(".safetensors") || f.endsWith(".bin");

export async function startFakeHub(opts: FakeHubOptions): Promise<FakeHub> {
  const isLfs = opts.isLfs ?? defaultIsLfs;
  const requests: LoggedRequest[] = [];
  const lfsBlobs = new Map<string, { file: string; name: string }>(); // by sha256
  let truncations = opts.truncate?.times ?? 0;

  const log = (server: LoggedRequest["server"], req: IncomingMessage): void => {
    requests.push({ server, method: req.method ?? "GET", path: req.url ?? "", authorization: req.headers.authorization });
  };

  /** Sends a file, possibly cut short by the `truncate` option. */
  const sendFile = (req: IncomingMessage, res: ServerResponse, file: string, name: string, headers: Record<string, string>): void => {
    const body = readFileSync(file);
    res.writeHead(200, { ...headers, "content-length": String(body.length), "content-type": "application/octet-stream" });
    if (req.method === "HEAD") return void res.end();
    const t = opts.truncate;
    if (t && t.file === name && truncations > 0) {
      truncations--;
      res.write(body.subarray(0, t.afterBytes), () => res.destroy());
      return;
    }
    res.end(body);
  };

  const notFound = (res: ServerResponse, code: string): void => {
    res.writeHead(404, { "x-error-code": code, "content-type": "application/json" });
    res.end(JSON.stringify({ error: code }));
  };

  const findRevision = (id: string, rev: string): FakeRevision | undefined =>
    opts.repos[id]?.find((r) => r.commit === rev || r.names.includes(rev));

  const lfs = createServer((req, res) => {
    log("lfs", req);
    const sha = /^\/lfs\/([0-9a-f]{64})$/.exec(req.url ?? "")?.[1];
    const blob = sha === undefined ? undefined : lfsBlobs.get(sha);
    if (sha === undefined || blob === undefined) return notFound(res, "NoSuchKey");
    sendFile(req, res, blob.file, blob.name, { etag: `"s3-${sha.slice(0, 16)}"` });
  });
  const lfsBase = await listen(lfs);

  const hub = createServer((req, res) => {
    log("hub", req);
    const path = req.url ?? "";
    if (opts.requireToken !== undefined && req.headers.authorization !== `Bearer ${opts.requireToken}`) {
      res.writeHead(401, { "x-error-code": "RepoNotFound" });
      return void res.end("Invalid credentials");
    }
    const api = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(path);
    if (api) {
      const id = decodeURIComponent(api[1]);
      const rev = findRevision(id, decodeURIComponent(api[2]));
      if (!rev) return notFound(res, opts.repos[id] ? "RevisionNotFound" : "RepoNotFound");
      res.writeHead(200, { "content-type": "application/json" });
      return void res.end(JSON.stringify({ id, sha: rev.commit, siblings: listFiles(rev.dir).map((rfilename) => ({ rfilename })) }));
    }
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (!m) return notFound(res, "NotFound");
    const id = decodeURIComponent(m[1]);
    const rev = findRevision(id, decodeURIComponent(m[2]));
    if (!rev) return notFound(res, opts.repos[id] ? "RevisionNotFound" : "RepoNotFound");
    const name = m[3].split("/").map(decodeURIComponent).join("/");
    const file = join(rev.dir, name);
    if (name.split("/").includes("..") || !isFile(file)) return notFound(res, "EntryNotFound");
    const body = readFileSync(file);
    const common = { "x-repo-commit": rev.commit, etag: `"${gitBlobId(body)}"` };
    if (isLfs(name)) {
      const sha = createHash("sha256").update(body).digest("hex");
      lfsBlobs.set(sha, { file, name });
      const advertised = name === opts.wrongSha ? sha256(`not ${name}`) : sha;
      res.writeHead(302, {
        ...common,
        "x-linked-etag": `"${advertised}"`,
        "x-linked-size": String(body.length),
        location: `${lfsBase}/lfs/${sha}`,
      });
      return void res.end();
    }
    sendFile(req, res, file, name, common);
  });
  const endpoint = await listen(hub);

  return {
    endpoint,
    requests,
    close: async () => {
      await Promise.all([stop(hub), stop(lfs)]);
    },
  };
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
  });
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Files under `dir` as repository paths (forward slashes), sorted; dotfiles skipped. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith(".")) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p).split(sep).join("/"));
    }
  };
  walk(dir);
  return out;
}

/** The id git gives a file's contents, which the hub sends as the etag of non-LFS files. */
export function gitBlobId(body: Buffer): string {
  return createHash("sha1").update(`blob ${body.length}\0`).update(body).digest("hex");
}

export function sha256(body: Buffer | string): string {
  return createHash("sha256").update(body).digest("hex");
}

/** Writes `files` (repository path → contents) under `dir`. */
export function writeFiles(dir: string, files: Record<string, string | Buffer>): void {
  for (const [name, body] of Object.entries(files)) {
    const p = join(dir, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, body);
  }
}

/** A valid safetensors file with one F32 tensor "w" of `n` values (i * 0.5). */
export function tinySafetensors(n = 4): Buffer {
  const header = Buffer.from(JSON.stringify({ w: { dtype: "F32", shape: [n], data_offsets: [0, 4 * n] } }));
  const data = new Float32Array(n).map((_, i) => i * 0.5);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, Buffer.from(data.buffer)]);
}

/** A small BERT-ish repository: config, vocab, tokenizer config, weights. */
export function tinyModelFiles(hidden = 4): Record<string, string | Buffer> {
  return {
    "config.json": JSON.stringify({ model_type: "bert", hidden_size: hidden, num_hidden_layers: 1 }),
    "vocab.txt": "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n",
    "tokenizer_config.json": JSON.stringify({ do_lower_case: true }),
    "model.safetensors": tinySafetensors(hidden),
  };
}

/** A deterministic made-up commit hash. */
export function fakeCommit(seed: string): string {
  return createHash("sha1").update(seed).digest("hex");
}
