// Runs inside the test page: the golden checks of ../shared/golden against the browser bundle.
// Each function returns measurements (largest differences, mismatches); the Node test asserts them.
import * as bt from "/dist/bert-ts.js";

export { bt };

const POOLED = {
  cls: { strategy: "cls", normalize: false },
  mean: { strategy: "mean", normalize: false },
  max: { strategy: "max", normalize: false },
  mean_sqrt_len: { strategy: "mean_sqrt_len", normalize: false },
  cls_mean_concat: { strategy: "cls_mean", normalize: false },
  mean_l2_normalized: { strategy: "mean", normalize: true },
  cls_l2_normalized: { strategy: "cls", normalize: true },
};

function maxAbsDiff(actual, expected) {
  if (actual.length !== expected.length) return Infinity;
  let m = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

function sameArray(a, b) {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

const asInput = (inp) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined, attentionMask: inp.attention_mask });

/**
 * Tokenizer ids, hidden states, pooler, pooled vectors (and head logits with `head`) for every golden
 * input; batch invariance (bit-identical alone vs in a padded batch).
 */
export async function goldenCheck(modelUrl, goldenUrl, { head, maxTokens = Infinity } = {}) {
  const g = await (await fetch(goldenUrl)).json();
  // The batch reference rows follow g.inputs; keep their indices when long inputs are left out.
  const kept = g.inputs.map((inp, k) => [inp, k]).filter(([inp]) => inp.num_tokens <= maxTokens);
  const tokenizer = await bt.AutoTokenizer.fromPretrained(modelUrl);
  const model = await bt.BertModel.fromPretrained(modelUrl);
  const result = { backend: model.backend.name, inputs: kept.length, tokenMismatches: [], maxDiff: { hidden: 0, pooler: 0, pooled: 0, logits: 0 }, checked: { pooled: 0, logits: 0 } };
  const L = model.config.num_hidden_layers;
  const clf = head === "seqcls" ? bt.BertForSequenceClassification.fromModel(model) : undefined;
  for (const [inp, i] of kept) {
    const [a, b] = inp.is_pair ? inp.input : [inp.input, null];
    const enc = tokenizer.encode(a, b, { truncation: "longest_first", maxLength: 512 });
    if (!sameArray(enc.inputIds, inp.input_ids)) result.tokenMismatches.push(`input ${i} input_ids`);
    if (inp.token_type_ids !== null && !sameArray(enc.tokenTypeIds, inp.token_type_ids)) result.tokenMismatches.push(`input ${i} token_type_ids`);
    const out = model.forward(asInput(inp), { outputHiddenStates: true });
    const ref = inp.outputs.base;
    if (ref) {
      result.maxDiff.hidden = Math.max(result.maxDiff.hidden, maxAbsDiff(out.sequence(0).data, ref.last_hidden_state.flat()));
      if (g.models.base.pooler_from_checkpoint) result.maxDiff.pooler = Math.max(result.maxDiff.pooler, maxAbsDiff(out.poolerOutput.data, ref.pooler_output));
      for (const [key, opts] of Object.entries(POOLED)) {
        const [v] = bt.pool(out, opts, L);
        result.maxDiff.pooled = Math.max(result.maxDiff.pooled, maxAbsDiff(v, ref.pooled[key]));
        result.checked.pooled++;
      }
    }
    if (clf) {
      const logits = clf.forward(asInput(inp)).logits;
      result.maxDiff.logits = Math.max(result.maxDiff.logits, maxAbsDiff(logits.data, inp.outputs.seqcls.logits));
      result.checked.logits++;
    }
  }
  // Batch invariance: each input alone and in a padded batch (two orders) gives the same bits.
  const batch = (g.models.base ?? Object.values(g.models)[0]).batch;
  // Trimmed to the longest kept input: padding beyond it is padding all the same.
  const width = Math.max(...kept.map(([inp]) => inp.num_tokens));
  const inputs = kept.map(([, k]) => ({ inputIds: batch.input_ids[k].slice(0, width), tokenTypeIds: batch.token_type_ids?.[k]?.slice(0, width) ?? undefined, attentionMask: batch.attention_mask[k].slice(0, width) }));
  const batched = model.forward(inputs);
  const order = inputs.map((_, k) => k).reverse();
  const reversed = model.forward(order.map((k) => inputs[k]));
  result.batchNotIdentical = [];
  for (const [i, [inp]] of kept.entries()) {
    const single = model.forward({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined }).sequence(0).data;
    if (!sameArray(batched.sequence(i).data, single)) result.batchNotIdentical.push(`input ${i} batched`);
    if (!sameArray(reversed.sequence(order.indexOf(i)).data, single)) result.batchNotIdentical.push(`input ${i} reversed`);
  }
  result.batchRows = kept.length;
  return result;
}

/** SentenceEncoder.load(url).embed(texts) against the golden vectors of the model's own pooling. */
export async function encoderCheck(location, goldenUrl, options = {}) {
  const g = await (await fetch(goldenUrl)).json();
  const downloads = [];
  const encoder = await bt.SentenceEncoder.load(location, { resolve: { onDownload: (p) => p.done && downloads.push({ file: p.file, cached: p.cached, loaded: p.loaded }) } });
  const singles = g.inputs.filter((inp) => !inp.is_pair && !inp.truncated).slice(0, options.limit ?? 8);
  const vectors = await encoder.embed(singles.map((inp) => inp.input));
  const key = encoder.normalize ? "mean_l2_normalized" : "mean";
  let maxDiff = 0;
  vectors.forEach((v, k) => (maxDiff = Math.max(maxDiff, maxAbsDiff(v, singles[k].outputs.base.pooled[key]))));
  return { dir: encoder.modelDir, pooling: encoder.pooling, normalize: encoder.normalize, compared: vectors.length, maxDiff, downloads, backend: encoder.model.backend.name };
}

/** The same through the Worker API, counting main-thread timer ticks while the worker embeds. */
export async function workerCheck(location, goldenUrl) {
  const g = await (await fetch(goldenUrl)).json();
  const encoder = await bt.WorkerSentenceEncoder.load(location);
  const singles = g.inputs.filter((inp) => !inp.is_pair && !inp.truncated);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const texts = [];
  for (let r = 0; r < 4; r++) texts.push(...singles.map((inp) => inp.input));
  const vectors = await encoder.embed(texts);
  clearInterval(timer);
  const key = encoder.info.normalize ? "mean_l2_normalized" : "mean";
  let maxDiff = 0;
  vectors.forEach((v, k) => (maxDiff = Math.max(maxDiff, maxAbsDiff(v, singles[k % singles.length].outputs.base.pooled[key]))));
  encoder.dispose();
  return { compared: vectors.length, maxDiff, ticks, backend: encoder.backend, dir: encoder.dir };
}

/** Files fetched from `folderUrl` and handed over as File objects with a folder input's relative paths. */
export async function filesFromUrl(folderUrl, names, folderName) {
  return Promise.all(
    names.map(async (name) => {
      const blob = await (await fetch(`${folderUrl}/${name}`)).blob();
      const file = new File([blob], name.split("/").pop());
      Object.defineProperty(file, "webkitRelativePath", { value: `${folderName}/${name}` });
      return file;
    }),
  );
}

export async function clearCache() {
  await caches.delete(bt.CACHE_NAME);
}

export async function cachedKeys() {
  const cache = await caches.open(bt.CACHE_NAME);
  return (await cache.keys()).map((r) => r.url);
}
