import { readFileSync } from "node:fs";

/** bert-ts' own version, from the package.json shipped beside dist/ (one source of truth). */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
