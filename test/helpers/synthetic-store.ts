/**
 * Stores filled with seeded random unit vectors, for search latency and recall at sizes no model
 * run here could produce quickly (bench:index and the recall test). Filled through the stores'
 * public API (ingest, claim, commit), the path `bert-ts index` takes.
 */
import type { CorpusStore, VectorProvenance, VectorSpace } from "../../src/stores/store.js";

/** Seeded unit vectors (xorshift32 + Box-Muller): the same on every run. */
export function randomUnitVectors(n: number, dim: number, seed: number): Float32Array[] {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  return Array.from({ length: n }, () => {
    const v = new Float32Array(dim);
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      v[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
      norm += v[i] * v[i];
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) v[i] /= norm;
    return v;
  });
}

/**
 * Unit vectors shaped like sentence embeddings: on a random `intrinsic`-dimensional subspace of the
 * `dim`-dimensional space, plus a little isotropic noise. Real embeddings have a low intrinsic
 * dimension; uniform random vectors in 384 dimensions do not (their nearest neighbours are barely
 * nearer than any other point), and no graph index finds those: pgvector's HNSW gets recall@10
 * 0.24 on 100k of them at ef_search 200 (measured here). The basis is fixed by `basisSeed`, so
 * queries drawn with another `seed` come from the same distribution as the stored vectors.
 */
export function embeddingLikeVectors(n: number, dim: number, seed: number, options: { intrinsic?: number; noise?: number; basisSeed?: number } = {}): Float32Array[] {
  const k = options.intrinsic ?? 24;
  const noise = options.noise ?? 0.05;
  const basis = randomUnitVectors(k, dim, options.basisSeed ?? 4242);
  const latent = randomUnitVectors(n, k, seed);
  const jitter = randomUnitVectors(n, dim, seed ^ 0x9e3779b9);
  return latent.map((z, r) => {
    const v = new Float32Array(dim);
    for (let j = 0; j < k; j++) for (let i = 0; i < dim; i++) v[i] += z[j] * basis[j][i];
    let norm = 0;
    for (let i = 0; i < dim; i++) {
      v[i] += noise * jitter[r][i];
      norm += v[i] * v[i];
    }
    norm = Math.sqrt(norm);
    for (let i = 0; i < dim; i++) v[i] /= norm;
    return v;
  });
}

export function syntheticSpace(dimension: number): { space: VectorSpace; provenance: VectorProvenance } {
  const space: VectorSpace = {
    model: "synthetic/random-unit-vectors",
    weightsSha256: "0".repeat(64),
    pooling: "mean",
    layers: '{"kind":"last"}',
    normalize: true,
    dimension,
    maxLength: 256,
    longInputs: "truncate",
    chunkStride: null,
    dtype: "float32",
  };
  return {
    space,
    provenance: { model: space.model, weights_sha256: space.weightsSha256, architecture: "none", dtype: "float32", kernels: "none", bert_ts: "synthetic", pooling: "mean", normalize: true },
  };
}

/** Documents d0..dN-1 with the given vectors; returns seconds taken. */
export async function fillStore(store: CorpusStore, vectors: readonly Float32Array[]): Promise<number> {
  const t0 = performance.now();
  const { space, provenance } = syntheticSpace(vectors[0].length);
  await store.bindSpace(space, provenance);
  const run = await store.beginRun();
  for (let at = 0; at < vectors.length; at += 5000) {
    const n = Math.min(5000, vectors.length - at);
    await store.upsertDocuments(run, Array.from({ length: n }, (_, k) => ({ id: `d${at + k}`, text: `document ${at + k}`, source: "synthetic" })));
  }
  await store.finishRun(run, false);
  for (;;) {
    const claim = await store.claimPending(1000, "synthetic");
    if (!claim) break;
    await claim.commit(
      claim.documents.map((d) => ({ docId: d.id, window: 0, start: 0, end: d.text.length, vector: vectors[Number(d.id.slice(1))], tokenCount: 4, truncated: false })),
      [],
    );
  }
  return (performance.now() - t0) / 1000;
}
