/** mulberry32: a small seeded generator in [0, 1), reproducible across runs and machines; for test and benchmark data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random string of up to about maxLength characters drawn from the pools (a pool first, then a character). */
export function randomText(next: () => number, pools: readonly (readonly string[])[], maxLength: number): string {
  const length = Math.floor(next() * next() * maxLength);
  let s = "";
  for (let i = 0; i < length; i++) {
    const pool = pools[Math.floor(next() * pools.length)];
    s += pool[Math.floor(next() * pool.length)];
  }
  return s;
}
