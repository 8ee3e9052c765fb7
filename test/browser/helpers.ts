/** Shared by the browser tests and bench: the bundle, a static server over it and ../shared, and Chromium. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";
import { startStaticServer, type StaticServer } from "./static-server.js";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SHARED = resolve(ROOT, "..", "shared");
export const CHROMIUM = process.env.BERT_TS_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Why the browser tests cannot run here, or undefined. On CI a missing Chromium is a failure, not a skip. */
export function skipReason(): string | undefined {
  if (!existsSync(join(SHARED, "models")) || !existsSync(join(SHARED, "golden"))) return "../shared models or golden files missing";
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}; .ci/run installs Debian's chromium package`);
  return `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
}

export interface BrowserRig {
  server: StaticServer;
  browser: BrowserContext;
  close(): Promise<void>;
}

/** Serves /dist/ (the bundle), /page/ (test page), /models/ and /golden/ (../shared), /extra/ mounts; launches Chromium. */
export async function startRig(extra: Record<string, string> = {}, options: { isolated?: boolean } = {}): Promise<BrowserRig> {
  const { buildBrowser } = (await import(join(ROOT, "scripts", "build-browser.mjs"))) as { buildBrowser(o?: { minify?: boolean }): Promise<unknown> };
  await buildBrowser();
  const server = await startStaticServer(
    {
      "/dist/": join(ROOT, "dist", "browser"),
      "/page/": join(ROOT, "test", "browser", "page"),
      "/models/": join(SHARED, "models"),
      "/golden/": join(SHARED, "golden"),
      ...extra,
    },
    options,
  );
  const profile = mkdtempSync(join(tmpdir(), "bert-ts-chromium-"));
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  return {
    server,
    browser,
    async close() {
      await browser.close();
      await server.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
