/**
 * TEI's `prompt_name`: the prompt (from config_sentence_transformers.json) goes before every input,
 * as sentence-transformers does; the model's default_prompt_name applies when the request names none.
 */
import { resolvePrompt } from "../pooling/st-modules.js";
import type { LoadedEmbedding } from "./context.js";
import { invalid } from "./errors.js";

export function promptFor(model: LoadedEmbedding, body: { prompt_name?: string | null }): string {
  let prompt: string;
  try {
    prompt = resolvePrompt(model.prompts, { promptName: body.prompt_name ?? undefined });
  } catch (err) {
    throw invalid(`\`prompt_name\`: ${(err as Error).message}`);
  }
  if (prompt && !model.info.includePrompt) {
    throw invalid("This model leaves prompt tokens out of its pooling (include_prompt false), which the server does not support yet; use the library or CLI");
  }
  return prompt;
}
