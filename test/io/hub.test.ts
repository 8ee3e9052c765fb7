import { strict as assert } from "node:assert";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { hubSettings, ModelNotFoundError, parseModelId, resolveModel, type ResolveOptions } from "../../src/io/hub.js";
import { formatBytes, progressBar } from "../../src/io/progress.js";
import {
  fakeCommit,
  gitBlobId,
  listFiles,
  sha256,
  startFakeHub,
  tinyModelFiles,
  tinySafetensors,
  writeFiles,
  type FakeHub,
} from "../helpers/fake-hub.js";
import { MODELS_DIR, modelPath, skipUnlessModel } from "../helpers/paths.js";

const ID = "acme/tiny-bert";
const REPO = "models--acme--tiny-bert";

const temps: string[] = [];
function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `bert-ts-hub-${tag}-`));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

/** A fetch that fails the test if anything tries the network. */
const noNetwork: typeof fetch = () => {
  throw new Error("network must not be used");
};

/** Options that ignore the real environment: empty cache, no models dir, no network. */
function isolated(extra: ResolveOptions = {}): ResolveOptions {
  return { cacheDir: tempDir("cache"), modelsDir: tempDir("models"), fetch: noNetwork, progress: false, offline: false, token: "", ...extra };
}

function repoFolder(files: Record<string, string | Buffer>): string {
  const d = tempDir("repo");
  writeFiles(d, files);
  return d;
}

async function withHub<T>(hubOpts: Parameters<typeof startFakeHub>[0], body: (hub: FakeHub) => Promise<T>): Promise<T> {
  const hub = await startFakeHub(hubOpts);
  try {
    return await body(hub);
  } finally {
    await hub.close();
  }
}

/** Every file under `dir`, recursively, as repository paths (dotfolders included). */
function allFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (d: string, prefix: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (lstatSync(p).isDirectory()) walk(p, `${prefix}${name}/`);
      else out.push(`${prefix}${name}`);
    }
  };
  walk(dir, "");
  return out.sort();
}

describe("parseModelId and settings", () => {
  it("splits id@revision and rejects conflicts and bad names", () => {
    assert.deepEqual(parseModelId("sentence-transformers/all-MiniLM-L6-v2"), {
      id: "sentence-transformers/all-MiniLM-L6-v2",
      revision: "main",
      pinned: false,
    });
    assert.deepEqual(parseModelId("bert-base-uncased@v1.0"), { id: "bert-base-uncased", revision: "v1.0", pinned: true });
    assert.deepEqual(parseModelId("a/b", "refs/pr/1"), { id: "a/b", revision: "refs/pr/1", pinned: true });
    assert.throws(() => parseModelId("a/b@v1", "v2"), /pins revision "v1" but options.revision is "v2"/);
    assert.throws(() => parseModelId("a/b/c"), /neither an existing folder nor a Hugging Face model id/);
    assert.throws(() => parseModelId("a/b@../x"), /Invalid revision/);
  });

  it("reads the environment the way huggingface_hub does, options first", () => {
    const home = "/home/u";
    assert.equal(hubSettings({}, {}, home).cacheDir, "/home/u/.cache/huggingface/hub");
    assert.equal(hubSettings({}, { XDG_CACHE_HOME: "/xdg" }, home).cacheDir, "/xdg/huggingface/hub");
    assert.equal(hubSettings({}, { HF_HOME: "/hf" }, home).cacheDir, "/hf/hub");
    assert.equal(hubSettings({}, { HF_HOME: "~/hf" }, home).cacheDir, "/home/u/hf/hub");
    assert.equal(hubSettings({}, { HF_HOME: "/hf", HF_HUB_CACHE: "/c" }, home).cacheDir, "/c");
    assert.equal(hubSettings({ cacheDir: "/o" }, { HF_HUB_CACHE: "/c" }, home).cacheDir, "/o");
    assert.equal(hubSettings({}, {}, home).endpoint, "https://huggingface.co");
    assert.equal(hubSettings({}, { HF_ENDPOINT: "http://mirror/" }, home).endpoint, "http://mirror");
    assert.equal(hubSettings({}, { HF_HUB_OFFLINE: "1" }, home).offline, true);
    assert.equal(hubSettings({}, { HF_HUB_OFFLINE: "true" }, home).offline, true);
    assert.equal(hubSettings({}, { HF_HUB_OFFLINE: "0" }, home).offline, false);
    assert.equal(hubSettings({ offline: false }, { HF_HUB_OFFLINE: "1" }, home).offline, false);
    assert.equal(hubSettings({}, { HF_TOKEN: "t" }, home).token, "t");
    assert.equal(hubSettings({}, {}, home).token, undefined);
    assert.equal(hubSettings({}, { BERT_TS_MODELS: "/m" }, home).modelsDir, "/m");
    assert.equal(hubSettings({}, {}, home).modelsDir, undefined);
    assert.equal(hubSettings({}, {}, home, true).progress, true);
    assert.equal(hubSettings({ progress: false }, {}, home, true).progress, false);
  });
});

describe("resolveModel: local sources", () => {
  it("returns an existing folder as is", async () => {
    const dir = repoFolder(tinyModelFiles());
    assert.deepEqual(await resolveModel(dir, isolated()), { dir, source: "path" });
  });

  it("reports a missing path as the one place looked in, and rejects a file", async () => {
    const missing = join(tempDir("x"), "nope");
    await assert.rejects(resolveModel(missing, isolated()), (e: unknown) => {
      assert.ok(e instanceof ModelNotFoundError);
      assert.deepEqual(e.looked, [{ place: `folder ${missing}`, result: "not found" }]);
      return true;
    });
    const dir = repoFolder(tinyModelFiles());
    await assert.rejects(resolveModel(join(dir, "config.json"), isolated()), /is a file; expected the folder/);
  });

  it("finds an id in the models dir as org--name/", async () => {
    const modelsDir = tempDir("models");
    writeFiles(join(modelsDir, "acme--tiny-bert"), tinyModelFiles());
    const r = await resolveModel(ID, isolated({ modelsDir }));
    assert.deepEqual(r, { dir: join(modelsDir, "acme--tiny-bert"), source: "models-dir", id: ID });
  });

  it("passes over an incomplete models-dir folder and says why", { skip: skipUnlessModel("sentence-transformers--all-MiniLM-L6-v2") }, async () => {
    // The shared folder has config and tokenizer but no weights.
    const opts = isolated({ modelsDir: MODELS_DIR, offline: true });
    await assert.rejects(resolveModel("sentence-transformers/all-MiniLM-L6-v2", opts), (e: unknown) => {
      assert.ok(e instanceof ModelNotFoundError);
      assert.match(e.message, /sentence-transformers--all-MiniLM-L6-v2: incomplete: no weights/);
      return true;
    });
  });
});

/** Writes a cache entry the way Python's huggingface_hub leaves one. */
function pythonCache(cacheDir: string, commit: string, files: Record<string, string | Buffer>, ref = "main"): string {
  const repo = join(cacheDir, REPO);
  mkdirSync(join(repo, "refs"), { recursive: true });
  writeFileSync(join(repo, "refs", ref), commit);
  for (const [name, body] of Object.entries(files)) {
    const etag = name.endsWith(".safetensors") ? sha256(body) : gitBlobId(Buffer.from(body));
    writeFiles(join(repo, "blobs"), { [etag]: body });
    const link = join(repo, "snapshots", commit, name);
    mkdirSync(join(link, ".."), { recursive: true });
    const depth = name.split("/").length;
    symlinkSync(`${"../".repeat(depth + 1)}blobs/${etag}`, link);
  }
  return join(repo, "snapshots", commit);
}

describe("resolveModel: Hugging Face cache", () => {
  it("uses a snapshot in Python's layout without touching the network", async () => {
    const cacheDir = tempDir("cache");
    const commit = fakeCommit("c1");
    const snap = pythonCache(cacheDir, commit, { ...tinyModelFiles(), "1_Pooling/config.json": "{}" });
    const opts = isolated({ cacheDir });
    assert.deepEqual(await resolveModel(ID, opts), { dir: snap, source: "hf-cache", id: ID, revision: "main", commit });
    // A commit hash needs no ref; an unknown branch is not in the cache (and offline, not anywhere).
    assert.equal((await resolveModel(`${ID}@${commit}`, opts)).dir, snap);
    await assert.rejects(resolveModel(`${ID}@dev`, { ...opts, offline: true }), /no refs\/dev/);
  });

  it("offline, accepts a snapshot without a tokenizer; online, completes it from the hub", async () => {
    const cacheDir = tempDir("cache");
    const files = tinyModelFiles();
    const commit = fakeCommit("c2");
    const { "vocab.txt": _vocab, "tokenizer_config.json": _tc, ...modelOnly } = files;
    const snap = pythonCache(cacheDir, commit, modelOnly);
    assert.equal((await resolveModel(ID, isolated({ cacheDir, offline: true }))).source, "hf-cache");
    await withHub({ repos: { [ID]: [{ commit, names: ["main"], dir: repoFolder(files) }] } }, async (hub) => {
      const r = await resolveModel(ID, isolated({ cacheDir, endpoint: hub.endpoint, fetch }));
      assert.equal(r.source, "download");
      assert.equal(r.dir, snap);
      assert.equal(readFileSync(join(snap, "vocab.txt"), "utf8"), files["vocab.txt"]);
      // Files already in the snapshot are not fetched again.
      assert.ok(!hub.requests.some((q) => q.path.includes("model.safetensors") || q.path.includes("config.json?")));
      assert.deepEqual(
        hub.requests.map((q) => q.path).filter((p) => p.includes("/resolve/")).map((p) => p.split("/").pop()),
        ["vocab.txt", "tokenizer_config.json"],
      );
    });
  });
});

describe("resolveModel: download", () => {
  it("fills an empty cache in Python's layout; a second resolve makes no request", async () => {
    const files = {
      ...tinyModelFiles(),
      "modules.json": JSON.stringify([
        { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" },
        { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" },
        { idx: 2, name: "2", path: "2_Normalize", type: "sentence_transformers.models.Normalize" },
        { idx: 3, name: "3", path: "3_Dense", type: "sentence_transformers.models.Dense" },
      ]),
      "sentence_bert_config.json": JSON.stringify({ max_seq_length: 256 }),
      "1_Pooling/config.json": JSON.stringify({ pooling_mode_mean_tokens: true }),
      "3_Dense/config.json": JSON.stringify({ in_features: 4, out_features: 2 }),
      // A Dense layer's own weights come too (safetensors preferred, as for the model).
      "3_Dense/model.safetensors": "dense weights",
      "3_Dense/pytorch_model.bin": "not wanted either",
      // Never fetched: other frameworks, other weight formats, docs.
      "pytorch_model.bin": "not wanted",
      "onnx/model.onnx": "onnx",
      "tf_model.h5": "tf",
      "flax_model.msgpack": "flax",
      "README.md": "# tiny",
    };
    const commit = fakeCommit("d1");
    const cacheDir = tempDir("cache");
    await withHub({ repos: { [ID]: [{ commit, names: ["main"], dir: repoFolder(files) }] }, requireToken: "sekrit" }, async (hub) => {
      const r = await resolveModel(ID, isolated({ cacheDir, endpoint: hub.endpoint, fetch, token: "sekrit" }));
      const repo = join(cacheDir, REPO);
      const snap = join(repo, "snapshots", commit);
      assert.deepEqual(r, { dir: snap, source: "download", id: ID, revision: "main", commit });
      assert.equal(readFileSync(join(repo, "refs", "main"), "utf8"), commit);

      const wanted = ["1_Pooling/config.json", "3_Dense/config.json", "3_Dense/model.safetensors", "config.json", "model.safetensors", "modules.json", "sentence_bert_config.json", "tokenizer_config.json", "vocab.txt"];
      assert.deepEqual(listFiles(snap), wanted);
      for (const f of wanted) {
        const body = Buffer.from(files[f as keyof typeof files]);
        const etag = f.endsWith(".safetensors") ? sha256(body) : gitBlobId(body);
        assert.equal(readlinkSync(join(snap, f)), `${"../".repeat(f.split("/").length + 1)}blobs/${etag}`, f);
        assert.deepEqual(readFileSync(join(snap, f)), body, f);
      }
      assert.equal(readdirSync(join(repo, "blobs")).length, wanted.length);
      // Absent tokenizer files are recorded, as huggingface_hub does.
      assert.deepEqual(allFiles(join(repo, ".no_exist")), [`${commit}/tokenizer.json`, `${commit}/vocab.json`]);

      // The token goes to the hub and never to the storage host the weights redirect to.
      assert.ok(hub.requests.filter((q) => q.server === "hub").every((q) => q.authorization === "Bearer sekrit"));
      const lfs = hub.requests.filter((q) => q.server === "lfs");
      assert.equal(lfs.length, 2, "model.safetensors and 3_Dense/model.safetensors");
      assert.ok(lfs.every((q) => q.authorization === undefined));

      const before = hub.requests.length;
      const again = await resolveModel(ID, isolated({ cacheDir, endpoint: hub.endpoint }));
      assert.deepEqual(again, { ...r, source: "hf-cache" });
      assert.equal(hub.requests.length, before);
    });
  });

  it("fetches a sharded checkpoint: the index and every shard it names", { skip: skipUnlessModel("bert-micro-qa-random") }, async () => {
    const src = modelPath("bert-micro-qa-random");
    const commit = fakeCommit("qa");
    const cacheDir = tempDir("cache");
    await withHub({ repos: { "test/bert-micro-qa-random": [{ commit, names: ["main"], dir: src }] } }, async (hub) => {
      const r = await resolveModel("test/bert-micro-qa-random", isolated({ cacheDir, endpoint: hub.endpoint, fetch }));
      assert.equal(r.source, "download");
      const expected = listFiles(src).filter((f) => f !== "GENERATED.json");
      assert.deepEqual(listFiles(r.dir), expected);
      for (const f of expected) assert.ok(readFileSync(join(r.dir, f)).equals(readFileSync(join(src, f))), f);
      assert.equal(hub.requests.filter((q) => q.server === "lfs").length, 2);
    });
  });

  it("honours HF_HUB_OFFLINE: no request, one error naming every place", async () => {
    const opts = isolated({ offline: true });
    await assert.rejects(resolveModel(ID, opts), (e: unknown) => {
      assert.ok(e instanceof ModelNotFoundError);
      const msg = e.message;
      assert.match(msg, /^Cannot find model "acme\/tiny-bert"\. Looked in:/);
      assert.ok(msg.includes(`folder ${join(process.cwd(), ID)}: not found`), msg);
      assert.ok(msg.includes(`models dir ${join(opts.modelsDir!, "acme--tiny-bert")}: not found`), msg);
      assert.ok(msg.includes(`Hugging Face cache ${join(opts.cacheDir!, REPO)}: not found`), msg);
      assert.ok(msg.includes("https://huggingface.co/api/models/acme/tiny-bert/revision/main: not tried: offline"), msg);
      assert.equal(e.looked.length, 4);
      return true;
    });
  });

  it("reads HF_HUB_OFFLINE=1 from the environment when no option is given", async () => {
    const saved = process.env.HF_HUB_OFFLINE;
    process.env.HF_HUB_OFFLINE = "1";
    try {
      const { offline: _o, ...opts } = isolated();
      await assert.rejects(resolveModel(ID, opts), /not tried: offline/);
    } finally {
      if (saved === undefined) delete process.env.HF_HUB_OFFLINE;
      else process.env.HF_HUB_OFFLINE = saved;
    }
  });

  it("leaves no file behind when the connection drops mid-body", async () => {
    const files = { ...tinyModelFiles(), "model.safetensors": tinySafetensors(256 * 1024) };
    const commit = fakeCommit("cut");
    const cacheDir = tempDir("cache");
    const truncate = { file: "model.safetensors", afterBytes: 100_000, times: 99 };
    await withHub({ repos: { [ID]: [{ commit, names: ["main"], dir: repoFolder(files) }] }, truncate }, async (hub) => {
      await assert.rejects(resolveModel(ID, isolated({ cacheDir, endpoint: hub.endpoint, fetch, retries: 1 })), (e: unknown) => {
        assert.ok(e instanceof ModelNotFoundError);
        const size = files["model.safetensors"].length;
        assert.ok(e.message.includes(`download failed: ${hub.endpoint}/${ID}/resolve/${commit}/model.safetensors: connection closed after 100000 of ${size} bytes`), e.message);
        return true;
      });
      assert.equal(hub.requests.filter((q) => q.server === "lfs").length, 2, "one retry, then give up");
      const repo = join(cacheDir, REPO);
      assert.ok(!allFiles(join(repo, "blobs")).some((f) => f.includes("incomplete")));
      assert.ok(!existsSync(join(repo, "snapshots", commit, "model.safetensors")));
      assert.ok(!existsSync(join(repo, "refs", "main")), "no ref to a half-downloaded snapshot");
    });
  });

  it("rejects a weights file whose sha256 is not the one the hub advertised, without retrying", async () => {
    const commit = fakeCommit("sha");
    const cacheDir = tempDir("cache");
    await withHub({ repos: { [ID]: [{ commit, names: ["main"], dir: repoFolder(tinyModelFiles()) }] }, wrongSha: "model.safetensors" }, async (hub) => {
      await assert.rejects(resolveModel(ID, isolated({ cacheDir, endpoint: hub.endpoint, fetch, retries: 2 })), /model\.safetensors: sha256 [0-9a-f]{64} does not match the hub's/);
      assert.equal(hub.requests.filter((q) => q.server === "lfs").length, 1);
      const blobs = allFiles(join(cacheDir, REPO, "blobs"));
      assert.deepEqual(blobs.sort(), ["config.json", "tokenizer_config.json", "vocab.txt"].map((f) => gitBlobId(Buffer.from(tinyModelFiles()[f]))).sort());
    });
  });

  it("retries a dropped connection and then succeeds", async () => {
    const files = { ...tinyModelFiles(), "model.safetensors": tinySafetensors(64 * 1024) };
    const commit = fakeCommit("retry");
    const truncate = { file: "model.safetensors", afterBytes: 1000, times: 1 };
    await withHub({ repos: { [ID]: [{ commit, names: ["main"], dir: repoFolder(files) }] }, truncate }, async (hub) => {
      const r = await resolveModel(ID, isolated({ endpoint: hub.endpoint, fetch, retries: 1 }));
      assert.ok(readFileSync(join(r.dir, "model.safetensors")).equals(files["model.safetensors"]));
    });
  });

  it("reports a model the hub does not have", async () => {
    await withHub({ repos: {} }, async (hub) => {
      await assert.rejects(resolveModel("acme/missing", isolated({ endpoint: hub.endpoint, fetch })), (e: unknown) => {
        assert.ok(e instanceof ModelNotFoundError);
        assert.match(e.message, /hub http:\/\/127\.0\.0\.1:\d+\/api\/models\/acme\/missing\/revision\/main: no such repository or revision \(404\); if it is private or gated, set HF_TOKEN/);
        assert.equal(e.looked.length, 4);
        return true;
      });
    });
  });

  it("gives up on a hub that does not answer, within the timeout", async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      // The stall timer is what ends it (its message), not the test's own timeout.
      await assert.rejects(resolveModel(ID, isolated({ endpoint, fetch, timeoutMs: 200, retries: 0 })), /no data for 200 ms/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("pins revisions: each resolves to its own commit, identical files share one blob", async () => {
    const v1 = { ...tinyModelFiles(4) };
    const v2 = { ...tinyModelFiles(8) }; // same vocab and tokenizer config, new config and weights
    const c1 = fakeCommit("v1");
    const c2 = fakeCommit("v2");
    const cacheDir = tempDir("cache");
    const modelsDir = tempDir("models");
    writeFiles(join(modelsDir, "acme--tiny-bert"), v2); // would win for an unpinned id
    const repos = { [ID]: [{ commit: c1, names: ["v1"], dir: repoFolder(v1) }, { commit: c2, names: ["main"], dir: repoFolder(v2) }] };
    await withHub({ repos }, async (hub) => {
      const opts = isolated({ cacheDir, modelsDir, endpoint: hub.endpoint, fetch });
      const r1 = await resolveModel(`${ID}@v1`, opts);
      assert.deepEqual([r1.source, r1.revision, r1.commit], ["download", "v1", c1]);
      assert.equal(readFileSync(join(r1.dir, "config.json"), "utf8"), v1["config.json"]);
      const r2 = await resolveModel(ID, { ...opts, revision: "main", modelsDir: tempDir("empty") });
      assert.deepEqual([r2.source, r2.commit], ["download", c2]);
      assert.equal(readFileSync(join(r2.dir, "config.json"), "utf8"), v2["config.json"]);

      const repo = join(cacheDir, REPO);
      assert.equal(readFileSync(join(repo, "refs", "v1"), "utf8"), c1);
      assert.equal(readFileSync(join(repo, "refs", "main"), "utf8"), c2);
      assert.equal(readdirSync(join(repo, "blobs")).length, 6, "vocab.txt and tokenizer_config.json shared");

      // Offline, by tag or by commit hash, from the cache only.
      const off = { ...opts, offline: true, fetch: noNetwork };
      assert.equal((await resolveModel(`${ID}@v1`, off)).commit, c1);
      assert.equal((await resolveModel(ID, { ...off, revision: c2 })).dir, r2.dir);
      // An unpinned id still prefers the models dir.
      assert.equal((await resolveModel(ID, off)).source, "models-dir");
      await assert.rejects(resolveModel(`${ID}@v1`, { ...off, cacheDir: tempDir("empty") }), /skipped: revision "v1" is pinned/);
    });
  });
});

describe("progress bar", () => {
  it("draws one line with \\r and ends it with a newline", () => {
    let out = "";
    const bar = progressBar("model.safetensors", 2_000_000, { write: (s) => ((out += s), true), columns: 100 });
    bar.update(1_000_000);
    bar.done();
    const lines = out.split("\r").filter((l) => l !== "");
    assert.equal(lines.length, 2, "first update and done() draw; nothing else within 100 ms");
    assert.match(lines[0], /^model\.safetensors \[#{15}-{15}\]  50% 1\.0 MB\/2\.0 MB \S+ \S+\/s\x1b\[K$/);
    assert.ok(out.endsWith("\n"));
    assert.equal(formatBytes(999), "999 B");
    assert.equal(formatBytes(466_247), "466.2 kB");
  });
});
