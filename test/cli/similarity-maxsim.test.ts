/** `bert-ts similarity --maxsim` and the library's maxSim: ColBERT scores from PyTorch's token vectors, computed here in float64. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { maxSim } from "../../src/pooling/maxsim.js";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";

/** Σ_i max_j cos(q_i, d_j) over the golden hidden states, in float64. */
function expectedMaxSim(q: number[][], d: number[][]): number {
  const unit = (v: number[]) => {
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return v.map((x) => x / n);
  };
  const [uq, ud] = [q.map(unit), d.map(unit)];
  return uq.reduce((sum, a) => sum + Math.max(...ud.map((b) => b.reduce((s, x, k) => s + x * a[k], 0))), 0);
}

describe("MaxSim (late interaction)", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  const g = () => loadGolden(`${MINILM}.json`).inputs;

  it("similarity --maxsim: matrix[i][j] = Σ over text i's tokens of the best cosine with text j's tokens", () => {
    const picks = [0, 1, 5];
    const res = spawnSync(process.execPath, [BIN, "similarity", "-m", modelPath(MINILM), "--maxsim", "--format", "jsonl", ...picks.map((i) => g()[i].input)], { encoding: "utf8" });
    assert.equal(res.status, 0, res.stderr);
    const out = JSON.parse(res.stdout);
    assert.equal(out.score, "maxsim");
    const states = picks.map((i) => g()[i].outputs.base.last_hidden_state as number[][]);
    const expected = states.map((q) => states.map((d) => expectedMaxSim(q, d)));
    assertClose(out.matrix.flat(), expected.flat(), 1e-4, "maxsim matrix");
    assert.notEqual(out.matrix[0][1], out.matrix[1][0], "MaxSim is not symmetric");
  });

  it("maxSim on plain vectors, and refuses an empty document", () => {
    assert.equal(maxSim([[1, 0], [0, 1]], [[0.5, 0.5], [1, 0]]), 1 + 0.5);
    assert.throws(() => maxSim([[1]], []), /at least one document token vector/);
  });
});
