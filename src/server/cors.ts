/**
 * CORS for browser clients on other origins (`serve --cors-origin`): off unless asked (the server
 * listens on loopback by default and carries no cookies, but an API key typed into one site should
 * not be usable by every other). "*" allows any origin, as TEI's --cors-allow-origin does. Uses
 * @fastify/cors (fastify's own, kept with fastify 5): preflights are answered before the API key
 * is checked (a preflight carries no key), and TEI's timing headers are exposed to page scripts.
 */
import fastifyCors from "@fastify/cors";
import type { FastifyInstance } from "fastify";
import { PROVENANCE_HEADER } from "./provenance-header.js";

const EXPOSED = [
  "x-compute-type",
  "x-compute-time",
  "x-compute-characters",
  "x-compute-tokens",
  "x-total-time",
  "x-tokenization-time",
  "x-queue-time",
  "x-inference-time",
  "retry-after",
  PROVENANCE_HEADER,
];

export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  void app.register(fastifyCors, {
    origin: origins.includes("*") ? "*" : [...origins],
    methods: ["GET", "POST"],
    allowedHeaders: ["content-type", "authorization"],
    exposedHeaders: EXPOSED,
    maxAge: 600,
  });
}
