/**
 * Static files for `bert-ts serve --static DIR` (the browser example page, a model folder beside
 * it): a URL path maps to a regular file inside DIR, never outside it; folders serve index.html.
 * The headers make the page cross-origin isolated (COOP/COEP), which WebAssembly threads need.
 */
import { stat } from "node:fs/promises";
import { extname, join, relative, resolve, sep, isAbsolute } from "node:path";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/** Cross-origin isolation: SharedArrayBuffer (WASM threads) exists only on such pages. */
export const ISOLATION_HEADERS = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
} as const;

export function contentTypeOf(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
}

/** The file a URL path names inside `root` (index.html for a folder), or null (missing, outside root, not a regular file). */
export async function resolveStaticFile(root: string, urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0]);
  } catch {
    return null;
  }
  if (decoded.includes("\0")) return null;
  const base = resolve(root);
  let target = resolve(base, `.${decoded.startsWith("/") ? decoded : `/${decoded}`}`);
  const rel = relative(base, target);
  if (rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) return null;
  try {
    let info = await stat(target);
    if (info.isDirectory()) {
      target = join(target, "index.html");
      info = await stat(target);
    }
    return info.isFile() ? target : null;
  } catch {
    return null;
  }
}

export interface StaticServer {
  url: string;
  /** Every request path served or refused, in order (tests count downloads with it). */
  requests: string[];
  close(): Promise<void>;
}

/**
 * A plain node:http server of static files: URL prefix ("/models/") → folder, the longest matching
 * prefix wins; cross-origin isolated unless `isolated` is false. No server logic: what a static
 * host (or `bert-ts serve --static DIR`) gives the browser example page.
 */
export async function startStaticServer(
  mounts: Record<string, string>,
  options: { host?: string; port?: number; isolated?: boolean; log?: (line: string) => void } = {},
): Promise<StaticServer> {
  const { createServer } = await import("node:http");
  const { createReadStream } = await import("node:fs");
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const requests: string[] = [];
  const server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    requests.push(path);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const file = prefix === undefined || (req.method !== "GET" && req.method !== "HEAD") ? null : await resolveStaticFile(mounts[prefix], path.slice(prefix.length - 1));
    const headers: Record<string, string> = options.isolated === false ? {} : { ...ISOLATION_HEADERS };
    options.log?.(`${req.method} ${path} ${file ? 200 : 404}`);
    if (!file) {
      res.writeHead(404, { ...headers, "content-type": "text/plain; charset=utf-8" }).end("not found");
      return;
    }
    res.writeHead(200, { ...headers, "content-type": contentTypeOf(file), "cache-control": "no-cache" });
    if (req.method === "HEAD") res.end();
    else createReadStream(file).on("error", () => res.destroy()).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  const host = options.host && options.host !== "0.0.0.0" ? options.host : "127.0.0.1";
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
