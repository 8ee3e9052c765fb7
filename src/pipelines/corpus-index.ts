/**
 * CorpusIndex: a document collection kept embedded in a store (a SQLite file, or PostgreSQL +
 * pgvector for many workers) and searched from it.
 *
 *   const index = await CorpusIndex.open("docs.sqlite", { model: "sentence-transformers/all-MiniLM-L6-v2" });
 *   await index.ingest(documents, { prune: true });   // registers new/changed texts as pending
 *   await index.embedPending();                      // embeds them, a batch per transaction
 *   const hits = await index.search(["how do I reset my password"], 10);
 *
 * Only new or changed documents are embedded again; every vector records how it was made, and a
 * store refuses vectors (or queries) of another model or pooling.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { openStore } from "../stores/open-store.js";
import { requireSameSpace, StoreError, type Claim, type CorpusStore, type DocumentInput, type IngestCounts, type SearchHit, type StoreStatus, type VectorProvenance, type VectorRecord, type VectorSpace } from "../stores/store.js";
import { SentenceEncoder, type LongInputMode, type SentenceEncoderOptions } from "./sentence-encoder.js";

export interface CorpusIndexOptions extends SentenceEncoderOptions {
  /** Model id or folder (default: the one the store was built with is NOT assumed: give it). */
  model: string;
  /** How texts over the model's limit are handled: truncate (default, flagged per vector), chunk (every window stored), error (document failed). */
  longInputs?: LongInputMode;
  /** Window overlap in tokens for chunk mode (default maxLength / 4). */
  chunkStride?: number;
  /** An encoder already loaded for `model` (its options win over the ones above). */
  encoder?: SentenceEncoder;
  /**
   * The store at `location`, already open (a caller that read its space first need not open it
   * twice: for SQLite that is a second integrity check of the whole file). A store without a space
   * yet adopts this index's. It is closed if opening the index fails, as one opened here would be.
   */
  store?: CorpusStore;
  /** Only search: the store must already hold vectors of this space, and nothing is written to it. */
  searchOnly?: boolean;
  /**
   * The prompt put before every document (text, or a name from the model's prompts). Default, as
   * sentence-transformers' encode_document: the model's "document", "passage" or "corpus" prompt,
   * else its default_prompt_name.
   */
  prompt?: string;
  promptName?: string;
  /** The prompt put before every query. Default, as encode_query: the model's "query" prompt, else its default. */
  queryPrompt?: string;
  queryPromptName?: string;
}

/** sentence-transformers' encode_document() looks for these prompt names, in this order. */
const DOCUMENT_PROMPT_NAMES = ["document", "passage", "corpus"] as const;

export interface EmbedPendingOptions {
  /** Documents per claim (and per transaction). Default 64. */
  batchSize?: number;
  /** Keep waiting for new pending documents instead of returning when none is left. */
  follow?: boolean;
  /** How often to look for work when following. Default 1000 ms. */
  pollMs?: number;
  /** Stops after the current batch. */
  signal?: AbortSignal;
  /** Names this worker in the store (PostgreSQL records who embedded what). */
  worker?: string;
  onBatch?: (progress: { embedded: number; failed: number }) => void;
}

/** Test-only fault hooks, so crash tests can kill a worker at a known point of a batch. */
const FAULT_PAUSE_BEFORE_COMMIT_MS = Number(process.env.BERT_TS_TEST_PAUSE_BEFORE_COMMIT_MS ?? 0);

export class CorpusIndex {
  private constructor(
    readonly store: CorpusStore,
    readonly encoder: SentenceEncoder,
    readonly space: VectorSpace,
    private readonly longInputs: LongInputMode,
    private readonly chunkStride: number | undefined,
  ) {}

  /** Opens (or creates) the store at `location` for `options.model`; refuses a store of another space. */
  static async open(location: string, options: CorpusIndexOptions): Promise<CorpusIndex> {
    let encoder: SentenceEncoder;
    let described: Awaited<ReturnType<typeof describeSpace>>;
    const longInputs = options.longInputs ?? "truncate";
    try {
      encoder = options.encoder ?? (await SentenceEncoder.load(options.model, options));
      // A folder is recorded by its absolute path, so workers started elsewhere find the same model.
      const model = existsSync(options.model) ? resolve(options.model) : options.model;
      described = await describeSpace(encoder, model, longInputs, options.chunkStride, options);
    } catch (err) {
      await options.store?.close();
      throw err;
    }
    const { space, provenance } = described;
    const store = options.store ?? (await openStore(location, space.dimension));
    try {
      if (options.searchOnly) {
        const stored = await store.space();
        if (!stored) throw new StoreError(`${store.location} holds no vectors yet`);
        requireSameSpace(store.location, stored, space);
      } else {
        await store.bindSpace(space, provenance);
      }
    } catch (err) {
      await store.close();
      throw err;
    }
    return new CorpusIndex(store, encoder, space, longInputs, options.chunkStride);
  }

  /** Registers documents: new ones and ones whose text changed become pending. Call within a run (see ingestAll). */
  async ingestAll(batches: AsyncIterable<readonly DocumentInput[]> | Iterable<readonly DocumentInput[]>, options: { prune?: boolean } = {}): Promise<IngestCounts & { removed: number }> {
    const run = await this.store.beginRun();
    const total: IngestCounts = { added: 0, changed: 0, unchanged: 0 };
    const seen = new Set<string>();
    for await (const batch of batches) {
      for (const d of batch) {
        if (seen.has(d.id)) throw new Error(`Document id ${JSON.stringify(d.id)} appears twice (${d.source}); ids must be unique`);
        seen.add(d.id);
      }
      const counts = await this.store.upsertDocuments(run, batch);
      total.added += counts.added;
      total.changed += counts.changed;
      total.unchanged += counts.unchanged;
    }
    // Only a run that read its whole input may prune: an interrupted one would delete what it had not reached.
    const removed = await this.store.finishRun(run, options.prune ?? false);
    return { ...total, removed };
  }

  /**
   * Embeds pending documents a batch at a time until none is left (or, following, until aborted).
   * A batch's commit runs while the next batch is embedded: the store gets the writes and the
   * COMMIT at once and the encoder does not wait for the database (each batch is still its own
   * transaction; a batch counts as done once its commit has answered).
   */
  async embedPending(options: EmbedPendingOptions = {}): Promise<{ embedded: number; failed: number }> {
    const batchSize = options.batchSize ?? 64;
    const worker = options.worker ?? `pid ${process.pid}`;
    const progress = { embedded: 0, failed: 0 };
    // The batch being committed; it settles to its failure, if any, so no rejection waits unhandled while the next batch embeds.
    let committing: Promise<{ failure: unknown } | null> | null = null;
    const committed = async () => {
      const previous = committing;
      committing = null;
      const outcome = await previous;
      if (outcome) throw outcome.failure;
    };
    // Once per dry spell, not on every poll: the store's deferred work (PostgreSQL's HNSW build).
    let dry = false;
    // The second claim connection opens while the first batch embeds, not when the second batch is claimed.
    this.store.prepareClaims?.();
    try {
      while (!options.signal?.aborted) {
        const claim = await this.store.claimPending(batchSize, worker);
        if (!claim) {
          await committed();
          if (!dry) await this.store.finishPending();
          dry = true;
          if (!options.follow) break;
          await sleep(options.pollMs ?? 1000, options.signal);
          continue;
        }
        let embedded: Awaited<ReturnType<CorpusIndex["embedClaim"]>>;
        try {
          embedded = await this.embedClaim(claim);
          await committed();
          if (FAULT_PAUSE_BEFORE_COMMIT_MS > 0) await sleep(FAULT_PAUSE_BEFORE_COMMIT_MS);
        } catch (err) {
          await claim.release().catch(() => {});
          throw err;
        }
        const { vectors, failures } = embedded;
        committing = claim.commit(vectors, failures).then(
          () => {
            progress.embedded += claim.documents.length - failures.length;
            progress.failed += failures.length;
            options.onBatch?.({ ...progress });
            return null;
          },
          (failure: unknown) => ({ failure }),
        );
        dry = false;
      }
      await committed();
    } finally {
      // On an error elsewhere, the batch in flight still finishes (or fails) before this returns.
      await committing;
    }
    return progress;
  }

  private async embedClaim(claim: Claim): Promise<{ vectors: VectorRecord[]; failures: { id: string; error: string }[] }> {
    const failures: { id: string; error: string }[] = [];
    const ok: { id: string; text: string }[] = [];
    const prompt = this.space.prompt ?? "";
    // In error mode a text over the limit fails alone, not its batch.
    for (const d of claim.documents) {
      if (this.longInputs === "error") {
        // The prompt's tokens count toward the limit, as they do when the document is embedded.
        const n = this.encoder.tokenizer.encode(prompt + d.text, undefined, { truncation: false }).inputIds.length;
        if (n > this.encoder.maxLength) {
          failures.push({ id: d.id, error: `${n} tokens, more than the limit of ${this.encoder.maxLength} (--long-inputs error)` });
          continue;
        }
      }
      ok.push(d);
    }
    const truncated = new Set<number>();
    const embedded = await this.encoder.embedWithWindows(
      ok.map((d) => d.text),
      { longInputs: this.longInputs, chunkStride: this.chunkStride, prompt, onTruncate: (i) => truncated.add(i) },
    );
    const vectors: VectorRecord[] = [];
    embedded.forEach((doc, i) => {
      const id = ok[i].id;
      if (!doc.embedding.every(Number.isFinite)) {
        failures.push({ id, error: "the model produced a non-finite vector (NaN or infinity) for this text" });
        return;
      }
      if (this.longInputs === "chunk") {
        doc.parts.forEach((w, k) =>
          vectors.push({ docId: id, window: k, start: w.span[0], end: w.span[1], vector: w.embedding, tokenCount: w.numTokens, truncated: false }),
        );
      } else {
        const [w] = doc.parts;
        vectors.push({ docId: id, window: 0, start: w.span[0], end: w.span[1], vector: doc.embedding, tokenCount: w.numTokens, truncated: truncated.has(i) });
      }
    });
    return { vectors, failures };
  }

  /** The k best hits for each query (cosine), best first. Queries get the space's query prompt. */
  async search(queries: readonly string[], k: number, options: { exact?: boolean } = {}): Promise<SearchHit[][]> {
    const vectors = await this.encoder.embed(queries, { prompt: this.space.queryPrompt ?? "" });
    return this.searchVectors(vectors, k, options);
  }

  searchVectors(vectors: readonly Float32Array[], k: number, options: { exact?: boolean } = {}): Promise<SearchHit[][]> {
    return this.store.search(vectors, k, options);
  }

  status(): Promise<StoreStatus> {
    return this.store.status();
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

/** The space and provenance an encoder's vectors belong to. */
export async function describeSpace(
  encoder: SentenceEncoder,
  model: string,
  longInputs: LongInputMode,
  chunkStride: number | undefined,
  prompts: Pick<CorpusIndexOptions, "prompt" | "promptName" | "queryPrompt" | "queryPromptName"> = {},
): Promise<{ space: VectorSpace; provenance: VectorProvenance }> {
  const documentPrompt = encoder.resolvePrompt({ prompt: prompts.prompt, promptName: prompts.promptName ?? (prompts.prompt === undefined ? namedPrompt(encoder, DOCUMENT_PROMPT_NAMES) : undefined) });
  const queryPrompt = encoder.resolvePrompt({ prompt: prompts.queryPrompt, promptName: prompts.queryPromptName ?? (prompts.queryPrompt === undefined ? namedPrompt(encoder, ["query"]) : undefined) });
  if (documentPrompt !== "" && longInputs === "chunk") {
    throw new Error(`The document prompt ${JSON.stringify(documentPrompt)} cannot be combined with long inputs "chunk" yet (it would open the first window only); index with the prompt "" or another long-inputs mode`);
  }
  // One description of how the vectors are made: the encoder's own provenance (id, revision, commit, weights sha256, ...).
  const provenance = await encoder.provenance({ prompt: documentPrompt, longInputs });
  const info = encoder.info;
  const space: VectorSpace = {
    model,
    weightsSha256: provenance.weights_sha256,
    pooling: info.strategy,
    layers: JSON.stringify(encoder.layers),
    normalize: info.normalize,
    dimension: info.dimension,
    maxLength: info.maxLength,
    longInputs,
    chunkStride: longInputs === "chunk" ? chunkStride ?? Math.floor(info.maxLength / 4) : null,
    dtype: provenance.dtype,
    prompt: documentPrompt,
    queryPrompt,
  };
  return { space, provenance: { ...provenance, ...(space.chunkStride !== null ? { chunk_stride: space.chunkStride } : {}) } };
}

/** The first of `names` the model's prompts define (sentence-transformers' encode_query/encode_document rule). */
function namedPrompt(encoder: SentenceEncoder, names: readonly string[]): string | undefined {
  return names.find((n) => Object.hasOwn(encoder.prompts.prompts, n));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}

export type { DocumentInput, SearchHit, StoreStatus, VectorSpace } from "../stores/store.js";
