/**
 * The real clients against a spawned `bert-ts serve`, as users run them: the `openai` package
 * (embeddings.create with its default base64 transport, models.list, its error classes) and
 * `@huggingface/inference` pointed at the server's base URL (featureExtraction and
 * sentenceSimilarity on POST /, as on an Inference Endpoint running TEI). Vectors are held to the
 * PyTorch goldens.
 *
 * textClassification is not driven here: @huggingface/inference 4.x reads the HF Inference API's
 * nested [[{label, score}]], while TEI's POST / (and bert-ts's, which follows it) answers one text
 * with a flat [{label, score}], so that client rejects TEI's answer too (see README, server).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { InferenceClient } from "@huggingface/inference";
import OpenAI from "openai";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath } from "../helpers/paths.js";
import { BUILT_WORKER, MINILM, SEQCLS, skipUnlessServerModels, spawnServer } from "./helpers.js";

const KEY = "client-key";

function cosine(a: number[], b: number[]): number {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  return dot / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
}

const skip = skipUnlessServerModels() || (!existsSync(BUILT_WORKER) && !process.env.CI && "dist/ is not built (npm run build)");

describe("bert-ts serve with the openai and @huggingface/inference clients", { skip }, () => {
  let server: Awaited<ReturnType<typeof spawnServer>>;
  let texts: any[];
  before(async () => {
    server = await spawnServer(["--model", modelPath(MINILM), "--classifier", modelPath(SEQCLS), "--port", "0", "--workers", "1", "--threads", "1", "--api-key", KEY, "--metrics-names", "both"]);
    texts = (loadGolden(`${MINILM}.json`).inputs as any[]).filter((x) => typeof x.input === "string" && x.input.trim() !== "" && !x.truncated).slice(0, 6);
  });
  after(async () => {
    server?.child.kill("SIGTERM");
    await server?.exited;
  });

  it("openai: embeddings.create gives PyTorch's normalised vectors (base64 and float), models.list names the models", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
    // The client asks for base64 unless told otherwise, and decodes it.
    const res = await client.embeddings.create({ model: MINILM, input: texts.map((x) => x.input) });
    assert.equal(res.data.length, texts.length);
    texts.forEach((x, i) => assertClose(res.data[i].embedding, x.outputs.base.pooled.mean_l2_normalized, 1e-4, `base64 ${i}`));
    assert.equal(res.model, MINILM, "the folder's name, not the server's path");
    assert.equal(res.usage.prompt_tokens, texts.reduce((n, x) => n + x.num_tokens, 0));
    const floats = await client.embeddings.create({ model: MINILM, input: texts[0].input, encoding_format: "float", dimensions: 64 });
    const head = texts[0].outputs.base.pooled.mean.slice(0, 64) as number[];
    const norm = Math.hypot(...head);
    assertClose(floats.data[0].embedding, head.map((v) => v / norm), 1e-4, "float, dimensions 64");
    const ids = await client.embeddings.create({ model: MINILM, input: [texts[1].input_ids] });
    assertClose(ids.data[0].embedding, texts[1].outputs.base.pooled.mean_l2_normalized, 1e-4, "token ids");

    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    assert.deepEqual(models, [MINILM, SEQCLS]);
  });

  it("openai: refusals arrive as the client's own error classes with the server's message", async () => {
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
    await assert.rejects(client.embeddings.create({ model: MINILM, input: "" }), (err: unknown) => {
      assert.ok(err instanceof OpenAI.BadRequestError, String(err));
      assert.equal(err.status, 400);
      assert.match(err.message, /`input` is an empty string: there is nothing to embed/);
      return true;
    });
    const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "nope", maxRetries: 0 });
    await assert.rejects(wrongKey.embeddings.create({ model: MINILM, input: "a" }), OpenAI.AuthenticationError);
  });

  it("@huggingface/inference: featureExtraction and sentenceSimilarity at the server's base URL", async () => {
    const hf = new InferenceClient(KEY).endpoint(server.url);
    const one = await hf.featureExtraction({ inputs: texts[0].input });
    assert.ok(Array.isArray(one) && Array.isArray(one[0]), "TEI's [[...]] for one text");
    assertClose(one[0] as number[], texts[0].outputs.base.pooled.mean_l2_normalized, 1e-4, "featureExtraction");
    const many = (await hf.featureExtraction({ inputs: texts.slice(1, 4).map((x) => x.input), normalize: false } as never)) as number[][];
    texts.slice(1, 4).forEach((x, i) => assertClose(many[i], x.outputs.base.pooled.mean, 1e-4, `featureExtraction batch ${i}`));

    const [source, ...others] = texts;
    const sims = await hf.sentenceSimilarity({ inputs: { source_sentence: source.input, sentences: others.map((x) => x.input) } });
    assertClose(sims, others.map((x) => cosine(source.outputs.base.pooled.mean, x.outputs.base.pooled.mean)), 1e-4, "sentenceSimilarity");

    const bound = new InferenceClient(KEY).endpoint(`${server.url}/similarity`);
    assertClose(await bound.sentenceSimilarity({ inputs: { source_sentence: source.input, sentences: [others[0].input] } }), [sims[0]], 1e-6, "/similarity directly");
    await assert.rejects(new InferenceClient("nope").endpoint(server.url).featureExtraction({ inputs: "a" }), /401|API key/);
  });
});
