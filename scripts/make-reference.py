#!/usr/bin/env python3
"""Write PyTorch + transformers reference outputs for `bert-ts verify`.

    python3 scripts/make-reference.py --model DIR --texts texts.json --out ref.json [--task auto]
    node bin/bert-ts.js verify --model DIR --reference ref.json

texts.json: a JSON list; each item a string or a [text_a, text_b] pair ([question, context] for qa).
Needs torch and transformers. Inputs longer than --max-length (default: the tokenizer's limit) are
truncated longest-first, as bert-ts truncates. Written per input: the token ids, and per task:
base (AutoModel): last_hidden_state, pooler_output, pooled vectors (cls, mean, max, mean_sqrt_len,
cls_mean_concat, mean_l2_normalized, cls_l2_normalized); seqcls/nsp: logits; tokcls: logits;
qa: start_logits/end_logits; mlm: logits at the mask-token positions.
"""
import argparse
import json

import torch
import transformers
from transformers import AutoConfig, AutoModel, AutoTokenizer

HEADS = {  # task -> (transformers class name, architecture suffixes that carry its weights)
    "seqcls": ("AutoModelForSequenceClassification", ("ForSequenceClassification",)),
    "tokcls": ("AutoModelForTokenClassification", ("ForTokenClassification",)),
    "qa": ("AutoModelForQuestionAnswering", ("ForQuestionAnswering",)),
    "mlm": ("AutoModelForMaskedLM", ("ForMaskedLM", "ForPreTraining")),
    "nsp": ("BertForNextSentencePrediction", ("ForNextSentencePrediction", "ForPreTraining")),
}


def rounded(x):
    """Nested lists of floats with 7 significant digits (what float32 holds)."""
    if isinstance(x, list):
        return [rounded(v) for v in x]
    return float(f"{x:.7g}")


def pooled(h):
    """h: (seq, hidden), every token real (one unpadded input)."""
    mean = h.mean(0)
    return {
        "cls": h[0], "mean": mean, "max": h.max(0).values, "mean_sqrt_len": h.sum(0) / h.shape[0] ** 0.5,
        "cls_mean_concat": torch.cat([h[0], mean]),
        "mean_l2_normalized": torch.nn.functional.normalize(mean, dim=0),
        "cls_l2_normalized": torch.nn.functional.normalize(h[0], dim=0),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="local checkpoint folder")
    p.add_argument("--texts", required=True, help="JSON list of strings or [a, b] pairs")
    p.add_argument("--out", required=True)
    p.add_argument("--task", default="auto", help="auto (base + the heads config.architectures names) or a comma list of base,seqcls,tokcls,qa,mlm,nsp")
    p.add_argument("--max-length", type=int)
    a = p.parse_args()

    texts = json.load(open(a.texts, encoding="utf-8"))
    config = AutoConfig.from_pretrained(a.model)
    tokenizer = AutoTokenizer.from_pretrained(a.model, use_fast=False)  # the Python rules bert-ts follows
    max_length = a.max_length or min(tokenizer.model_max_length, config.max_position_embeddings)
    archs = config.architectures or []
    tasks = ["base"] + [t for t, (_, ends) in HEADS.items() if any(x.endswith(ends) for x in archs)] if a.task == "auto" else a.task.split(",")

    models, info = {}, {}
    for task in tasks:
        cls = AutoModel if task == "base" else getattr(transformers, HEADS[task][0])
        torch.manual_seed(0)  # a head missing from the checkpoint is random: reported, never silent
        model, loading = cls.from_pretrained(a.model, output_loading_info=True)
        models[task] = model.eval()
        info[task] = {"class": type(model).__name__, "loading_info": {k: sorted(v) for k, v in loading.items() if k != "error_msgs"}}
        if task == "base":
            info[task]["pooler_from_checkpoint"] = getattr(model, "pooler", None) is not None and not any("pooler" in k for k in loading["missing_keys"])

    inputs = []
    for item in texts:
        pair = isinstance(item, list)
        enc = tokenizer(item[0] if pair else item, item[1] if pair else None, truncation="longest_first", max_length=max_length, return_tensors="pt")
        ids = enc["input_ids"][0].tolist()
        record = {"input": item, "is_pair": pair, "input_ids": ids, "tokens": tokenizer.convert_ids_to_tokens(ids), "outputs": {}}
        if "token_type_ids" in enc:
            record["token_type_ids"] = enc["token_type_ids"][0].tolist()
        with torch.no_grad():
            for task, model in models.items():
                out = model(**enc)
                if task == "base":
                    h = out.last_hidden_state[0]
                    o = {"last_hidden_state": h.tolist(), "pooled": {k: v.tolist() for k, v in pooled(h).items()}}
                    if getattr(out, "pooler_output", None) is not None:
                        o["pooler_output"] = out.pooler_output[0].tolist()
                elif task == "qa":
                    o = {"start_logits": out.start_logits[0].tolist(), "end_logits": out.end_logits[0].tolist()}
                elif task == "mlm":
                    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id]
                    o = {"mask_positions": positions, "mask_position_logits": out.logits[0, positions].tolist()}
                else:
                    o = {"logits": out.logits[0].tolist()}
                record["outputs"][task] = {k: (v if k == "mask_positions" else rounded(v)) if not isinstance(v, dict) else {kk: rounded(vv) for kk, vv in v.items()} for k, v in o.items()}
        inputs.append(record)

    meta = {"generator": "bert-ts scripts/make-reference.py", "torch": torch.__version__, "transformers": transformers.__version__,
            "model_dir": a.model, "max_length": max_length, "truncation": "longest_first", "tasks": tasks}
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "inputs": inputs, "models": info}, f, ensure_ascii=False)
    print(f"wrote {a.out}: {len(inputs)} inputs, tasks {', '.join(tasks)}")


if __name__ == "__main__":
    main()
