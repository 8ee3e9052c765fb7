/**
 * XLM-RoBERTa and CamemBERT (modeling_xlm_roberta.py, modeling_camembert.py): RoBERTa's model under
 * other names, tensors still under "roberta."; they differ from RoBERTa in their SentencePiece tokenizers.
 */
import { ROBERTA } from "../roberta/family.js";
import type { ModelFamily } from "../registry.js";

export const XLM_ROBERTA: ModelFamily = { ...ROBERTA, modelType: "xlm-roberta", className: "XLMRoberta" };
export const CAMEMBERT: ModelFamily = { ...ROBERTA, modelType: "camembert", className: "Camembert" };
