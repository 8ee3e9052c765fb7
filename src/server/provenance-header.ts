/**
 * Each response that carries vectors or logits says where they came from in one header,
 * `x-bert-ts-provenance`: the model's provenance plus the request's own settings and token count,
 * as JSON. HTTP header values are ASCII, so anything else is \u-escaped (JSON.parse undoes it).
 */
import type { FastifyReply } from "fastify";
import type { Provenance } from "../pipelines/provenance.js";

export const PROVENANCE_HEADER = "x-bert-ts-provenance";

export function sendProvenance(reply: FastifyReply, provenance: Partial<Provenance>): void {
  const json = JSON.stringify(provenance).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  reply.header(PROVENANCE_HEADER, json);
}
