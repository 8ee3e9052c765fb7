/**
 * A model folder for one test: the shared folder's files linked in, with some files replaced or
 * added (a config_sentence_transformers.json, a 2_Dense module...) written by the test.
 */
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { modelPath } from "./paths.js";

/** files: relative path → content (objects are written as JSON). Returns the new folder. */
export function overlayModel(name: string, files: Record<string, string | Uint8Array | object>): string {
  const dir = mkdtempSync(join(tmpdir(), `bert-ts-${name}-`));
  const src = modelPath(name);
  for (const entry of readdirSync(src)) {
    if (!Object.hasOwn(files, entry) && !Object.keys(files).some((f) => f.startsWith(`${entry}/`))) symlinkSync(join(src, entry), join(dir, entry));
  }
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    const data = typeof content === "string" || content instanceof Uint8Array ? content : JSON.stringify(content, null, 2);
    writeFileSync(join(dir, rel), data);
  }
  return dir;
}
