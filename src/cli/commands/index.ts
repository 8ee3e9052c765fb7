import type { Command } from "commander";

/**
 * Every CLI command, in the order `bert-ts --help` lists them (the everyday path first: look at
 * text, embed it, compare and search it; then the task heads; then tools and the server). Each
 * lives in its own file and is imported only when it runs: a command's imports (pipelines, stores,
 * the server) cost start-up time, and `--help` or `embed` should not pay for the others.
 * `term` and `summary` are what the command list shows without loading it; test/cli/program.test.ts
 * checks them against each command's own registration.
 */
export interface CommandEntry {
  name: string;
  /** As commander's help lists it: name, [options], arguments. */
  term: string;
  summary: string;
  load(): Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: "tokenize", term: "tokenize [options] [texts...]", summary: "Split texts into tokens: ids, token types, attention mask and character offsets", load: async () => (await import("./tokenize.js")).registerTokenize },
  { name: "embed", term: "embed [options] [texts...]", summary: "Turn texts into vectors (sentence embeddings) with the model's pooling", load: async () => (await import("./embed.js")).registerEmbed },
  { name: "similarity", term: "similarity [options] [texts...]", summary: "Score every pair of texts (cosine by default): a heatmap on a terminal, a matrix in JSON otherwise", load: async () => (await import("./similarity.js")).registerSimilarity },
  { name: "search", term: "search [options] [queries...]", summary: "Find the corpus texts most similar to each query (semantic search; corpus vectors are cached)", load: async () => (await import("./search.js")).registerSearch },
  { name: "index", term: "index [options]", summary: "Embed a corpus into a store (SQLite file or postgres:// URL), re-embedding only what changed", load: async () => (await import("./corpus-index.js")).registerIndex },
  { name: "rerank", term: "rerank [options] [passages...]", summary: "Score [query, passage] pairs with a cross-encoder; with --query, rank the passages best first", load: async () => (await import("./rerank.js")).registerRerank },
  { name: "classify", term: "classify [options] [texts...]", summary: "Classify texts (or text pairs) with a sequence-classification model: labels and scores", load: async () => (await import("./classify.js")).registerClassify },
  { name: "ner", term: "ner [options] [texts...]", summary: "Find named entities (token classification): labels, scores and character spans", load: async () => (await import("./ner.js")).registerNer },
  { name: "qa", term: "qa [options] [contexts...]", summary: "Answer a question from a context (extractive QA): answer span, score and character offsets", load: async () => (await import("./qa.js")).registerQa },
  { name: "nsp", term: "nsp [options] [sentences...]", summary: "Next-sentence prediction: does sentence B follow sentence A?", load: async () => (await import("./nsp.js")).registerNsp },
  { name: "fill-mask", term: "fill-mask [options] [texts...]", summary: "Predict the tokens hidden by [MASK] in texts (masked language model)", load: async () => (await import("./fill-mask.js")).registerFillMask },
  { name: "explain", term: "explain [options] [texts...]", summary: "Show what the pooling looks at: each token's weight (or, for max, the dimensions it wins)", load: async () => (await import("./explain.js")).registerExplain },
  { name: "inspect", term: "inspect [options] <model>", summary: "Describe a model: config, parameters, weight files and dtypes, tokenizer, default pooling, heads, load report", load: async () => (await import("./inspect.js")).registerInspect },
  { name: "verify", term: "verify [options]", summary: "Check bert-ts against PyTorch on your model (--reference FILE from scripts/make-reference.py), or run self-checks", load: async () => (await import("./verify.js")).registerVerify },
  { name: "serve", term: "serve [options]", summary: "Serve embeddings over HTTP (text-embeddings-inference and OpenAI compatible)", load: async () => (await import("./serve.js")).registerServe },
];

/** Every command's register function (tests and tools that want the whole program). */
export async function loadAllCommands(): Promise<Array<(program: Command) => void>> {
  return Promise.all(COMMANDS.map((c) => c.load()));
}
