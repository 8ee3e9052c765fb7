/**
 * Optional API key: `Authorization: Bearer <key>` on every route except /health and /metrics
 * (probes and scrapers) and the static page (a browser cannot send the header when opening it; the
 * page asks for the key and sends it with its own calls). Checked before the body is read
 * (preParsing), after CORS (onRequest) has answered a browser's preflight, which carries no key,
 * and has set its headers, so a browser client can read a 401.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { ApiError } from "./errors.js";

const OPEN_PATHS = new Set(["/health", "/ping", "/metrics", "/"]);

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

export function registerAuth(app: FastifyInstance, apiKey: string): void {
  // Comparing fixed-length digests in constant time leaks neither the key nor its length.
  const expected = digest(apiKey);
  app.addHook("preParsing", async (req) => {
    const path = req.url.split("?", 1)[0];
    // Open for reading only: POST / is inference (TEI's entry point) and needs the key.
    if ((OPEN_PATHS.has(path) && (req.method === "GET" || req.method === "HEAD")) || req.method === "OPTIONS") return;
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !timingSafeEqual(digest(match[1].trim()), expected)) {
      throw new ApiError(401, "unauthorized", header ? "Invalid API key" : "Missing API key: send `Authorization: Bearer <key>`", {
        "www-authenticate": "Bearer",
      });
    }
  });
}
