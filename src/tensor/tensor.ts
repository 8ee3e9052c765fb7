/**
 * A dense float32 tensor: a row-major Float32Array plus its shape.
 * Deliberately small: model code works on flat arrays, and Tensor is what the public API hands out.
 */
export class Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];

  constructor(data: Float32Array, shape: readonly number[]) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) {
      throw new Error(`Tensor shape [${shape.join(", ")}] needs ${size} values but received ${data.length}`);
    }
    this.data = data;
    this.shape = shape;
  }

  static zeros(shape: readonly number[]): Tensor {
    return new Tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
  }

  get size(): number {
    return this.data.length;
  }

  /** The i-th slice along the first axis, sharing memory. */
  row(i: number): Float32Array {
    const width = this.data.length / this.shape[0];
    return this.data.subarray(i * width, (i + 1) * width);
  }

  /** Nested JavaScript arrays, for JSON output and tests. */
  toNested(): unknown {
    const build = (offset: number, dim: number): unknown => {
      if (dim === this.shape.length - 1) return Array.from(this.data.subarray(offset, offset + this.shape[dim]));
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      const out: unknown[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(offset + i * stride, dim + 1));
      return out;
    };
    return this.shape.length === 0 ? this.data[0] : build(0, 0);
  }
}
