/**
 * Sequence classification: one score per label for a text or text pair.
 * BERT (modeling_bert.py BertForSequenceClassification), ALBERT: logits = classifier(pooler_output),
 * dropout being a no-op at inference. RoBERTa/XLM-R/MPNet (RobertaClassificationHead): logits =
 * out_proj(tanh(dense(h<s>))), no pooler; ELECTRA the same with GELU; DistilBERT
 * classifier(relu(pre_classifier(h[CLS]))). The layout is the family's (models/registry.ts).
 */
import type { Backend } from "../backend/backend.js";
import type { LoadReport } from "../models/checkpoint.js";
import { BertModel, type LoadOptions } from "../models/bert/model.js";
import type { EncoderOutput } from "../models/output.js";
import type { SequenceClassifierSpec } from "../models/registry.js";
import { Tensor } from "../tensor/tensor.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import { headLoadReport, readHeadTensors, requirePooler } from "./head-loading.js";
import { ownEntry } from "../io/model-files.js";

export type ProblemType = "single_label_classification" | "multi_label_classification" | "regression";

export interface SequenceClassifierOutput {
  /** [batch, numLabels] raw scores, as Hugging Face's `logits`. */
  logits: Tensor;
}

/** The classifier on top of the encoder; model families differ only here. */
interface ClassifierLayer {
  readonly usesPooler: boolean;
  readonly tensorNames: readonly string[];
  /** (numSeqs, numLabels) logits. */
  forward(out: EncoderOutput, backend: Backend): Float32Array;
}

/** One linear layer on the pooled first-token vector. */
function loadPooledLinear(model: BertModel, numLabels: number, headClass: string, name: string): ClassifierLayer {
  requirePooler(model, headClass);
  const h = model.config.hidden_size;
  const w = readHeadTensors(model, headClass, {
    weight: { name: `${name}.weight`, shape: [numLabels, h] },
    bias: { name: `${name}.bias`, shape: [numLabels] },
  });
  const linear = model.backend.prepareLinear(w.weight, w.bias, numLabels, h);
  return {
    usesPooler: true,
    tensorNames: [`${name}.weight`, `${name}.bias`],
    forward: (out, backend) => backend.linear(out.poolerOutput.data, out.batchSize, linear),
  };
}

/** dense + activation + classifier on the first token's vector (no pooler). */
function loadFirstTokenHead(model: BertModel, numLabels: number, headClass: string, spec: Extract<SequenceClassifierSpec, { input: "first-token" }>): ClassifierLayer {
  const h = model.config.hidden_size;
  const names = {
    denseW: { name: `${spec.dense}.weight`, shape: [h, h] },
    denseB: { name: `${spec.dense}.bias`, shape: [h] },
    outW: { name: `${spec.classifier}.weight`, shape: [numLabels, h] },
    outB: { name: `${spec.classifier}.bias`, shape: [numLabels] },
  };
  const w = readHeadTensors(model, headClass, names);
  const dense = model.backend.prepareLinear(w.denseW, w.denseB, h, h);
  const outProj = model.backend.prepareLinear(w.outW, w.outB, numLabels, h);
  return {
    usesPooler: false,
    tensorNames: Object.values(names).map((n) => n.name),
    forward: (out, backend) => {
      const first = new Float32Array(out.batchSize * h); // (batch, h)
      for (let s = 0; s < out.batchSize; s++) first.set(out.hidden.subarray(out.seqStarts[s] * h, (out.seqStarts[s] + 1) * h), s * h);
      return backend.linear(backend.linear(first, out.batchSize, dense, spec.activation), out.batchSize, outProj);
    },
  };
}

export class BertForSequenceClassification {
  private constructor(
    readonly model: BertModel,
    /** Label names by class index (id2label; Hugging Face's LABEL_i when the config has none). */
    readonly labels: readonly string[],
    private readonly classifier: ClassifierLayer,
  ) {}

  static async fromPretrained(dir: string, options: LoadOptions = {}): Promise<BertForSequenceClassification> {
    return BertForSequenceClassification.fromModel(await BertModel.fromPretrained(dir, options));
  }

  /** Adds the head to a loaded encoder; throws HeadWeightsError naming absent classifier tensors. */
  static fromModel(model: BertModel): BertForSequenceClassification {
    const labels = labelNames(model.config.id2label);
    const spec = model.family.sequenceClassifier;
    const headClass = `${model.family.className}ForSequenceClassification`;
    const classifier =
      spec.input === "pooler"
        ? loadPooledLinear(model, labels.length, headClass, spec.classifier)
        : loadFirstTokenHead(model, labels.length, headClass, spec);
    return new BertForSequenceClassification(model, labels, classifier);
  }

  get numLabels(): number {
    return this.labels.length;
  }

  /**
   * config.json's problem_type, or what Hugging Face's forward infers without labels:
   * one label → regression, several → single-label classification.
   */
  get problemType(): ProblemType {
    return this.model.config.problem_type ?? (this.numLabels === 1 ? "regression" : "single_label_classification");
  }

  /** Missing/unexpected checkpoint tensors for this head class, as Hugging Face's loading_info. */
  get loadReport(): LoadReport {
    return headLoadReport(this.model, this.classifier.tensorNames, this.classifier.usesPooler);
  }

  forward(inputs: ModelInput | readonly ModelInput[]): SequenceClassifierOutput {
    const out = this.model.forward(inputs);
    const logits = this.classifier.forward(out, this.model.backend);
    return { logits: new Tensor(logits, [out.batchSize, this.numLabels]) };
  }
}

/**
 * Label i's name. Hugging Face's PretrainedConfig default is two labels, LABEL_0 and LABEL_1, when
 * config.json has no id2label.
 */
function labelNames(id2label: Record<number, string>): string[] {
  const ids = Object.keys(id2label).map(Number);
  const n = ids.length === 0 ? 2 : Math.max(...ids) + 1;
  return Array.from({ length: n }, (_, i) => id2label[i] ?? `LABEL_${i}`);
}
