/**
 * Model resolution: a local folder, or a Hugging Face id (`org/name`, `org/name@revision`) looked
 * up in order in (1) a models directory laid out `org--name/`, (2) the Hugging Face cache Python
 * shares, (3) a download from the hub into that cache. Every environment variable has an option
 * that overrides it, so callers and tests never depend on the real home directory.
 */
import { readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { readRef, repoFolderName, snapshotDir, snapshotMissing } from "./hub-cache.js";
import { apiUrl, downloadModel } from "./hub-download.js";
import { TOKENIZER_CORE_FILES, isSafeRelativePath, missingForModel } from "./hub-files.js";
import { HubHttpError } from "./hub-http.js";
import { locationAsString, type DownloadProgress, type ModelLocation } from "./model-source.js";

export interface ResolveOptions {
  /** Branch, tag or commit hash; default "main". Also accepted as `id@revision`. */
  revision?: string;
  /** Default: BERT_TS_MODELS. */
  modelsDir?: string;
  /** Default: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
  cacheDir?: string;
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Never use the network. Default: HF_HUB_OFFLINE set to 1/true/yes/on. */
  offline?: boolean;
  /** Default: HF_TOKEN. */
  token?: string;
  /** Progress bar on stderr. Default: whether stderr is a terminal. */
  progress?: boolean;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Longest wait for response headers or for the next chunk of a body. Default 30 s. */
  timeoutMs?: number;
  /** Extra attempts per request after a network error, timeout, 429 or 5xx. Default 2. */
  retries?: number;
  /**
   * Only the tokenizer is needed (bert-ts tokenize): a models-dir folder with tokenizer files but no
   * weights is enough.
   */
  tokenizerOnly?: boolean;
  /** Browser bundle: called as each file downloads (or comes from the browser cache). */
  onDownload?: (progress: DownloadProgress) => void;
  /** Browser bundle: keep downloaded files in the Cache API, keyed by URL and revision (default true). */
  browserCache?: boolean;
}

export interface ResolvedModel {
  /** Folder holding config.json, the tokenizer files and the weights. */
  dir: string;
  source: "path" | "models-dir" | "hf-cache" | "download";
  id?: string;
  revision?: string;
  commit?: string;
}

/** One place looked in, and what was found there. */
export interface LookedIn {
  place: string;
  result: string;
}

/** The model could not be found or fetched; `looked` lists every place tried, in order. */
export class ModelNotFoundError extends Error {
  constructor(
    readonly model: string,
    readonly looked: LookedIn[],
    options?: { cause?: unknown },
  ) {
    super(
      `Cannot find model "${model}". Looked in:\n${looked.map((l) => `  - ${l.place}: ${l.result}`).join("\n")}`,
      options,
    );
    this.name = "ModelNotFoundError";
  }
}

export const DEFAULT_ENDPOINT = "https://huggingface.co";
const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 2;

/** Options with every default filled in from the environment. */
export interface HubSettings {
  modelsDir?: string;
  cacheDir: string;
  endpoint: string;
  offline: boolean;
  token?: string;
  progress: boolean;
  fetch: typeof fetch;
  timeoutMs: number;
  retries: number;
}

/** Fills defaults the way huggingface_hub reads its environment; env and home are injectable. */
export function hubSettings(
  options: ResolveOptions = {},
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
  stderrIsTTY: boolean = process.stderr.isTTY === true,
): HubSettings {
  const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === "" ? undefined : v);
  const expand = (p: string): string => (p === "~" || p.startsWith("~/") ? join(home, p.slice(1)) : p);
  const hfHome = nonEmpty(env.HF_HOME) ?? join(nonEmpty(env.XDG_CACHE_HOME) ?? join(home, ".cache"), "huggingface");
  const cacheDir = options.cacheDir ?? nonEmpty(env.HF_HUB_CACHE) ?? nonEmpty(env.HUGGINGFACE_HUB_CACHE) ?? join(expand(hfHome), "hub");
  const modelsDir = options.modelsDir ?? nonEmpty(env.BERT_TS_MODELS);
  return {
    modelsDir: modelsDir === undefined ? undefined : resolve(expand(modelsDir)),
    cacheDir: resolve(expand(cacheDir)),
    endpoint: (options.endpoint ?? nonEmpty(env.HF_ENDPOINT) ?? DEFAULT_ENDPOINT).replace(/\/+$/, ""),
    offline: options.offline ?? isTrue(env.HF_HUB_OFFLINE),
    token: nonEmpty(options.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN),
    progress: options.progress ?? stderrIsTTY,
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    retries: options.retries ?? DEFAULT_RETRIES,
  };
}

function isTrue(v: string | undefined): boolean {
  return v !== undefined && ["1", "ON", "YES", "TRUE"].includes(v.toUpperCase());
}

/** A hub id: `name` or `org/name`, letters, digits, `-`, `_`, `.`; no `..` or `--` at the edges. */
const ID_RE = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;

/** Something the user clearly meant as a path, not an id. */
function looksLikePath(s: string): boolean {
  return s.startsWith(".") || s.startsWith("/") || s.startsWith("~") || s.includes("\\") || /^[A-Za-z]:/.test(s);
}

export interface ModelId {
  id: string;
  revision: string;
  /** The caller asked for a revision rather than taking "main". */
  pinned: boolean;
}

/** Splits `org/name@revision`; a revision in both the name and the options must agree. */
export function parseModelId(name: string, revisionOption?: string): ModelId {
  const at = name.indexOf("@");
  const id = at < 0 ? name : name.slice(0, at);
  const fromName = at < 0 ? undefined : name.slice(at + 1);
  if (!ID_RE.test(id) || id.includes("..")) {
    throw new Error(`"${name}" is neither an existing folder nor a Hugging Face model id like "org/name" or "org/name@revision"`);
  }
  if (fromName !== undefined && revisionOption !== undefined && fromName !== revisionOption) {
    throw new Error(`"${name}" pins revision "${fromName}" but options.revision is "${revisionOption}"`);
  }
  const revision = fromName ?? revisionOption;
  if (revision !== undefined && !isSafeRelativePath(revision)) throw new Error(`Invalid revision "${revision}"`);
  return { id, revision: revision ?? "main", pinned: revision !== undefined };
}

export async function resolveModel(location: ModelLocation, options: ResolveOptions = {}): Promise<ResolvedModel> {
  const nameOrPath = locationAsString(location);
  const s = hubSettings(options);
  const local = resolve(nameOrPath.startsWith("~/") ? join(homedir(), nameOrPath.slice(2)) : nameOrPath);
  const localKind = kindOf(local);
  if (localKind === "dir") return { dir: local, source: "path" };
  if (localKind === "file") throw new Error(`Model path ${local} is a file; expected the folder holding config.json`);
  if (looksLikePath(nameOrPath)) throw new ModelNotFoundError(nameOrPath, [{ place: `folder ${local}`, result: "not found" }]);

  const { id, revision, pinned } = parseModelId(nameOrPath, options.revision);
  const looked: LookedIn[] = [{ place: `folder ${local}`, result: "not found" }];

  // (1) models directory: a flat, hand-managed copy with no revisions.
  if (s.modelsDir === undefined) {
    looked.push({ place: "models dir", result: "not set (BERT_TS_MODELS or options.modelsDir)" });
  } else {
    const dir = join(s.modelsDir, id.split("/").join("--"));
    if (pinned) {
      looked.push({ place: `models dir ${dir}`, result: `skipped: revision "${revision}" is pinned and a models dir holds no revisions` });
    } else if (kindOf(dir) !== "dir") {
      looked.push({ place: `models dir ${dir}`, result: "not found" });
    } else {
      const has = (f: string) => kindOf(join(dir, f)) === "file";
      const missing = options.tokenizerOnly
        ? TOKENIZER_CORE_FILES.some(has) ? undefined : `tokenizer files (${TOKENIZER_CORE_FILES.join(", ")})`
        : missingForModel(has, (f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as unknown);
      if (missing === undefined) return { dir, source: "models-dir", id };
      looked.push({ place: `models dir ${dir}`, result: `incomplete: no ${missing}` });
    }
  }

  // (2) Hugging Face cache. Offline, a snapshot with config and weights is enough; online, one
  // that lacks a tokenizer is completed from the hub instead.
  const repoDir = join(s.cacheDir, repoFolderName(id));
  const commit = readRef(repoDir, revision);
  if (kindOf(repoDir) !== "dir") {
    looked.push({ place: `Hugging Face cache ${repoDir}`, result: "not found" });
  } else if (commit === undefined) {
    looked.push({ place: `Hugging Face cache ${repoDir}`, result: `no refs/${revision}` });
  } else {
    const missing = snapshotMissing(repoDir, commit, !s.offline);
    if (missing === undefined) return { dir: snapshotDir(repoDir, commit), source: "hf-cache", id, revision, commit };
    looked.push({ place: `Hugging Face cache ${snapshotDir(repoDir, commit)}`, result: `incomplete: no ${missing}` });
  }

  // (3) the hub.
  const url = apiUrl(s.endpoint, id, revision);
  if (s.offline) {
    looked.push({ place: `hub ${url}`, result: "not tried: offline (HF_HUB_OFFLINE or options.offline)" });
    throw new ModelNotFoundError(nameOrPath, looked);
  }
  try {
    const http = { fetch: s.fetch, token: s.token, timeoutMs: s.timeoutMs, retries: s.retries };
    const got = await downloadModel({
      id,
      revision,
      endpoint: s.endpoint,
      repoDir,
      http,
      progress: s.progress ? process.stderr : undefined,
    });
    return { dir: got.dir, source: "download", id, revision, commit: got.commit };
  } catch (err) {
    looked.push({ place: `hub ${url}`, result: describeHubFailure(err, s.token !== undefined) });
    throw new ModelNotFoundError(nameOrPath, looked, { cause: err });
  }
}

/**
 * The folder behind any `fromPretrained(nameOrPath)`: an existing folder, or anything written as a
 * path, is returned as given (the loader then says what is missing there); a hub id goes through
 * resolveModel, as SentenceEncoder.load and pipeline() do.
 */
export async function resolveModelFolder(nameOrPath: string, options: ResolveOptions = {}): Promise<string> {
  if (kindOf(nameOrPath) !== undefined || looksLikePath(nameOrPath)) return nameOrPath;
  return (await resolveModel(nameOrPath, options)).dir;
}

function describeHubFailure(err: unknown, hasToken: boolean): string {
  if (err instanceof HubHttpError && (err.status === 401 || err.status === 404)) {
    const hint = hasToken ? "" : "; if it is private or gated, set HF_TOKEN";
    return err.message.includes("/api/models/")
      ? `no such repository or revision (${err.status})${hint}`
      : `download failed: ${err.message}`;
  }
  const msg = err instanceof Error ? err.message : String(err);
  // undici's "fetch failed" says nothing on its own; the reason (ECONNREFUSED, ...) is the cause.
  const cause = msg === "fetch failed" && err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return `download failed: ${msg}${cause}`;
}

function kindOf(p: string): "dir" | "file" | undefined {
  try {
    const st = statSync(p);
    return st.isDirectory() ? "dir" : st.isFile() ? "file" : undefined;
  } catch {
    return undefined;
  }
}
