import type { BertProcessingJson, PostProcessorJson, RobertaProcessingJson, TemplateProcessingJson } from "../tokenizer-json.js";
import { BertProcessing } from "./bert-processing.js";
import type { PostProcessor } from "./post-processor.js";
import { RobertaProcessing } from "./roberta-processing.js";
import { TemplateProcessing } from "./template-processing.js";

export { numSpecialTokens, type PostProcessor, type TemplatePiece, type TokenSequence } from "./post-processor.js";
export { TemplateProcessing } from "./template-processing.js";
export { BertProcessing } from "./bert-processing.js";
export { RobertaProcessing } from "./roberta-processing.js";

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
    case "RobertaProcessing": {
      const c = config as RobertaProcessingJson;
      return new RobertaProcessing(c.cls[1], c.sep[1], c.trim_offsets ?? true, c.add_prefix_space ?? true);
    }
    default:
      throw new Error(`Unknown post-processor type: ${config.type}`);
  }
}
