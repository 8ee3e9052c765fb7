/**
 * A plain node:http static server for the browser tests and bench: URL prefixes map to folders
 * (the bundle, the example page, ../shared models and golden files), every request is recorded so
 * tests can count what the page downloaded, and COOP/COEP headers make the page cross-origin isolated.
 */
import { createReadStream } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ISOLATION_HEADERS, contentTypeOf, resolveStaticFile } from "../../src/server/static-files.js";

export interface StaticServer {
  url: string;
  /** Every request path served or refused, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** `mounts`: URL prefix ("/models/") → folder. The longest matching prefix wins. */
export async function startStaticServer(mounts: Record<string, string>, options: { isolated?: boolean } = {}): Promise<StaticServer> {
  const prefixes = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const requests: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    requests.push(path);
    const prefix = prefixes.find((p) => path.startsWith(p));
    const file = prefix === undefined ? null : await resolveStaticFile(mounts[prefix], path.slice(prefix.length - 1));
    const headers: Record<string, string> = options.isolated === false ? {} : { ...ISOLATION_HEADERS };
    if (!file) {
      res.writeHead(404, { ...headers, "content-type": "text/plain" }).end("not found");
      return;
    }
    res.writeHead(200, { ...headers, "content-type": contentTypeOf(file), "cache-control": "no-store" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
