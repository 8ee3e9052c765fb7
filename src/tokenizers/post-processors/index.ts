import type { BertProcessingJson, PostProcessorJson, TemplateProcessingJson } from "../tokenizer-json.js";
import { BertProcessing } from "./bert-processing.js";
import type { PostProcessor } from "./post-processor.js";
import { TemplateProcessing } from "./template-processing.js";

export { numSpecialTokens, type PostProcessor, type TemplatePiece, type TokenSequence } from "./post-processor.js";
export { TemplateProcessing } from "./template-processing.js";
export { BertProcessing } from "./bert-processing.js";

/** No post-processor: sequences are concatenated, the second with token type 1. */
export class NoSpecialTokens implements PostProcessor {
  template(isPair: boolean) {
    return isPair
      ? [
          { kind: "sequence", sequence: 0, typeId: 0 } as const,
          { kind: "sequence", sequence: 1, typeId: 1 } as const,
        ]
      : [{ kind: "sequence", sequence: 0, typeId: 0 } as const];
  }
}

/** Builds the post-processor a tokenizer.json describes. */
export function createPostProcessor(config: PostProcessorJson | null | undefined, source: string): PostProcessor {
  if (config === null || config === undefined) return new NoSpecialTokens();
  switch (config.type) {
    case "TemplateProcessing":
      return TemplateProcessing.fromJson(config as TemplateProcessingJson, source);
    case "BertProcessing": {
      const c = config as BertProcessingJson;
      return new BertProcessing(c.cls[1], c.sep[1]);
    }
    default:
      throw new Error(`Unknown post-processor type: ${config.type}`);
  }
}
