/** Element-wise activations, exactly as PyTorch / Hugging Face define them (ACT2FN). */
import type { Activation } from "./backend.js";

/** erf with |error| < 1.2e-7 (Numerical Recipes erfc, Chebyshev fit), enough for float32 GELU. */
export function erf(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - r : r - 1;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** Applies the activation in place. */
export function applyActivation(y: Float32Array, activation: Activation): void {
  switch (activation) {
    case "none":
      return;
    case "gelu": // exact: x * Φ(x) = 0.5 x (1 + erf(x / √2))
      for (let i = 0; i < y.length; i++) y[i] = 0.5 * y[i] * (1 + erf(y[i] * Math.SQRT1_2));
      return;
    case "gelu_new": // tanh approximation (GPT-2 / "gelu_new")
    case "gelu_pytorch_tanh":
      for (let i = 0; i < y.length; i++) {
        const v = y[i];
        y[i] = 0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)));
      }
      return;
    case "relu":
      for (let i = 0; i < y.length; i++) if (y[i] < 0) y[i] = 0;
      return;
    case "tanh":
      for (let i = 0; i < y.length; i++) y[i] = Math.tanh(y[i]);
      return;
    default: {
      const never: never = activation;
      throw new Error(`Unknown activation: ${String(never)}`);
    }
  }
}
