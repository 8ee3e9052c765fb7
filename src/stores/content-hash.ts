import { createHash } from "node:crypto";

/** sha256 of a document's text (UTF-8): what decides whether a re-ingested document changed. */
export function contentHash(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
