/** An Examples section for the --help of the commands whose own file does not already end with one. */
export const EXAMPLES: Record<string, string[]> = {
  tokenize: [
    'bert-ts tokenize "Hello, world!"',
    'bert-ts tokenize -m bert-base-uncased --pair "second sentence" "first sentence"',
    "bert-ts tokenize --input texts.txt --max-length 128 --truncation -o tokens.jsonl",
  ],
  embed: [
    'bert-ts embed "The cat sat on the mat."',
    "bert-ts embed -m sentence-transformers/all-MiniLM-L6-v2 --input texts.txt -o vectors.npy",
    "printf '%s\\n' '[\"query\", \"passage\"]' | bert-ts embed --input - --input-format jsonl",
    "bert-ts embed --input corpus.txt | head -1    # stops embedding once head has its line",
  ],
  classify: [
    'bert-ts classify -m ./my-sentiment-model "What a great film!"',
    'bert-ts classify -m ./my-nli-model --pair "A man is sleeping." "A man is running."',
    "bert-ts classify -m ./my-model --input pairs.jsonl -k 3 -o labels.jsonl",
  ],
  nsp: [
    'bert-ts nsp -m ./bert-base-uncased --pair "He went home." "It was raining."',
    "bert-ts nsp -m ./bert-base-uncased --input pairs.jsonl",
    "cat pairs.jsonl | bert-ts nsp -m ./bert-base-uncased --input - --input-format jsonl",
  ],
  "fill-mask": [
    'bert-ts fill-mask -m ./bert-base-uncased "Paris is the [MASK] of France."',
    'bert-ts fill-mask -m ./roberta-base -k 10 "The <mask> sat on the mat."',
    'bert-ts fill-mask -m ./bert-base-uncased --target capital --target center "Paris is the [MASK] of France."',
  ],
  ner: [
    'bert-ts ner -m ./my-ner-model "Angela Merkel visited Paris."',
    "bert-ts ner -m ./my-ner-model --aggregation simple --input news.txt -o entities.jsonl",
  ],
  qa: [
    'bert-ts qa -m ./my-squad-model -q "Where is the Eiffel Tower?" -c "The Eiffel Tower is in Paris."',
    'bert-ts qa -m ./my-squad-model -q "Who wrote it?" --input contexts.txt',
    "printf '%s\\n' '[\"Who?\", \"Ada wrote it.\"]' | bert-ts qa -m ./my-squad-model --input - --input-format jsonl",
  ],
  rerank: [
    'bert-ts rerank -m ./ms-marco-MiniLM-L-6-v2 -q "how do cats sleep" "Cats sleep 16 hours." "Dogs bark."',
    "bert-ts rerank -m ./ms-marco-MiniLM-L-6-v2 --input pairs.jsonl --raw-scores",
  ],
  explain: [
    'bert-ts explain "The cat sat on the mat."',
    'bert-ts explain -m ./my-model --pooling max "The cat sat on the mat."',
  ],
  verify: [
    "bert-ts verify                                   # self-checks on this machine",
    "bert-ts verify -m ./my-model --reference ref.json  # against PyTorch (scripts/make-reference.py)",
  ],
  serve: [
    "bert-ts serve -m sentence-transformers/all-MiniLM-L6-v2",
    "bert-ts serve -m ./my-embedder --classifier ./my-cross-encoder --port 9000 --api-key secret",
    "curl -s localhost:8080/embed -H 'content-type: application/json' -d '{\"inputs\": \"hello\"}'",
  ],
};

export function examplesHelp(name: string): string | undefined {
  const lines = EXAMPLES[name];
  return lines ? `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}` : undefined;
}
