import type { Command } from "commander";
import { registerTokenize } from "./tokenize.js";
import { registerEmbed } from "./embed.js";
import { registerClassify } from "./classify.js";
import { registerNsp } from "./nsp.js";
import { registerFillMask } from "./fill-mask.js";
import { registerServe } from "./serve.js";
import { registerNer } from "./ner.js";
import { registerQa } from "./qa.js";
import { registerSimilarity } from "./similarity.js";
import { registerSearch } from "./search.js";
import { registerInspect } from "./inspect.js";
import { registerIndex } from "./corpus-index.js";
import { registerRerank } from "./rerank.js";
import { registerExplain } from "./explain.js";
import { registerVerify } from "./verify.js";

/** Every CLI command registers itself here (one file per command). */
export const commands: Array<(program: Command) => void> = [
  registerTokenize,
  registerEmbed,
  registerClassify,
  registerNsp,
  registerFillMask,
  registerServe,
  registerNer,
  registerQa,
  registerSimilarity,
  registerSearch,
  registerIndex,
  registerInspect,
  registerRerank,
  registerExplain,
  registerVerify,
];
