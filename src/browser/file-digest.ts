/**
 * The browser's stand-in for src/io/file-digest.ts: sha256 through Web Crypto over the mounted
 * bytes (in memory already, so there is nothing to cache).
 */
import { readBinaryFile } from "./host.js";

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // crypto.subtle exists only in secure contexts (https, localhost); elsewhere provenance says so.
  if (!globalThis.crypto?.subtle) return "unavailable (Web Crypto needs a secure context)";
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function fileSha256(path: string): Promise<string> {
  return sha256Hex(await readBinaryFile(path));
}

export async function textSha256(text: string): Promise<string> {
  return sha256Hex(new TextEncoder().encode(text));
}
