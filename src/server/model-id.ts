/**
 * The name a served model goes by in /info's model_id, /v1/models and OpenAI's `model`: the hub id
 * it was asked for (org/name), else its folder's name. Never a path: a client has no use for the
 * server's file layout, and it should not learn it.
 */
import { existsSync } from "node:fs";
import { basename, isAbsolute, resolve } from "node:path";

/** `asked` is what the user named the model by (hub id or path); `dir` the folder it resolved to. */
export function modelIdFor(dir: string, asked?: string): string {
  if (asked !== undefined && looksLikeHubId(asked)) return asked;
  return basename(resolve(dir));
}

/** org/name or name (optionally @revision), not an existing path or one written as a path. */
function looksLikeHubId(name: string): boolean {
  if (name === "" || isAbsolute(name) || name.startsWith(".") || name.startsWith("~") || name.includes("\\")) return false;
  if (existsSync(name)) return false;
  return /^[\w.-]+(\/[\w.-]+)?(@[\w./-]+)?$/.test(name);
}
