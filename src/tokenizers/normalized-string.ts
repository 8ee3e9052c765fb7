/**
 * A normalized text and where each of its UTF-16 code units came from in the original input, so
 * token offsets can point into the text the user gave (through removed characters, NFD accent
 * stripping, lower-casing that changes length, spaces inserted around CJK characters).
 */
export interface NormalizedString {
  text: string;
  /**
   * starts[i], ends[i]: the original [start, end) that normalized code unit i came from.
   * Both null when the normalization kept every code unit in place (the common ASCII case).
   */
  starts: Int32Array | null;
  ends: Int32Array | null;
}

export function identityNormalized(text: string): NormalizedString {
  return { text, starts: null, ends: null };
}

/** Original [start, end) of normalized [from, to) (to > from). */
export function originalSpan(ns: NormalizedString, from: number, to: number): [number, number] {
  if (ns.starts === null || ns.ends === null) return [from, to];
  return [ns.starts[from], ns.ends[to - 1]];
}

/** Appends strings with the original span each came from; grows its typed arrays by doubling. */
export class AlignedStringBuilder {
  private parts: string[] = [];
  private starts: Int32Array;
  private ends: Int32Array;
  private length = 0;

  constructor(capacity: number) {
    this.starts = new Int32Array(Math.max(16, capacity));
    this.ends = new Int32Array(Math.max(16, capacity));
  }

  private reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.starts.length) return;
    let cap = this.starts.length * 2;
    while (cap < need) cap *= 2;
    const s = new Int32Array(cap);
    s.set(this.starts.subarray(0, this.length));
    const e = new Int32Array(cap);
    e.set(this.ends.subarray(0, this.length));
    this.starts = s;
    this.ends = e;
  }

  /** Append s; every code unit of it maps to original [start, end). */
  push(s: string, start: number, end: number): void {
    const n = s.length;
    if (n === 0) return;
    this.reserve(n);
    for (let k = 0; k < n; k++) {
      this.starts[this.length + k] = start;
      this.ends[this.length + k] = end;
    }
    this.length += n;
    this.parts.push(s);
  }

  /** Append s whose code units map one to one onto original [start, start + s.length). */
  pushAligned(s: string, start: number): void {
    const n = s.length;
    if (n === 0) return;
    this.reserve(n);
    for (let k = 0; k < n; k++) {
      this.starts[this.length + k] = start + k;
      this.ends[this.length + k] = start + k + 1;
    }
    this.length += n;
    this.parts.push(s);
  }

  finish(): NormalizedString {
    return {
      text: this.parts.join(""),
      starts: this.starts.subarray(0, this.length),
      ends: this.ends.subarray(0, this.length),
    };
  }
}

/** Hangul vowel/trailing jamo compose with the syllable before them although they are not marks. */
function continuesCluster(cp: number): boolean {
  if ((cp >= 0x1160 && cp <= 0x11ff) || (cp >= 0xd7b0 && cp <= 0xd7ff)) return true;
  return /^\p{M}$/u.test(String.fromCodePoint(cp));
}

/**
 * NFC with alignment (the slow BertTokenizer composes the text before splitting it). Composition
 * only merges a character with the marks (or Hangul jamo) after it, so each such cluster is
 * composed alone and its output mapped to the cluster's original span. The other forms (NFD,
 * NFKC, NFKD) work the same way: a character's decomposition and the reordering of its marks stay
 * within its cluster.
 */
export function composeNfc(ns: NormalizedString, form: "NFC" | "NFD" | "NFKC" | "NFKD" = "NFC"): NormalizedString {
  const text = ns.text;
  const composed = text.normalize(form);
  if (composed === text) return ns;
  const out = new AlignedStringBuilder(composed.length);
  const span = (from: number, to: number): [number, number] => originalSpan(ns, from, to);
  let clusterStart = 0;
  const flush = (end: number): void => {
    if (end <= clusterStart) return;
    const piece = text.slice(clusterStart, end);
    const nfc = piece.normalize(form);
    if (nfc.length === piece.length) {
      for (let k = 0; k < nfc.length; k++) {
        const [s, e] = span(clusterStart + k, clusterStart + k + 1);
        out.push(nfc[k], s, e);
      }
    } else {
      const [s, e] = span(clusterStart, end);
      out.push(nfc, s, e);
    }
    clusterStart = end;
  };
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) ?? 0;
    const width = cp > 0xffff ? 2 : 1;
    if (i > 0 && !continuesCluster(cp)) flush(i);
    i += width;
  }
  flush(text.length);
  const result = out.finish();
  if (result.text === composed) return result;
  // Composition crossed our cluster boundaries (not expected): keep the text exact, widen the spans.
  const [s, e] = span(0, text.length);
  const wide = new AlignedStringBuilder(composed.length);
  wide.push(composed, s, e);
  return wide.finish();
}

/**
 * The alignment of `inner` (a normalization of outer.text) composed with outer's: every code unit
 * of inner.text mapped back to the original text. An empty inner span maps to an empty span at
 * the corresponding original position.
 */
export function composeAlignment(outer: NormalizedString, inner: NormalizedString): NormalizedString {
  if (outer.starts === null || outer.ends === null) return inner;
  const n = inner.text.length;
  const m = outer.text.length;
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  const at = (p: number): number => (p < m ? outer.starts![p] : m > 0 ? outer.ends![m - 1] : 0);
  for (let i = 0; i < n; i++) {
    const s = inner.starts === null ? i : inner.starts[i];
    const e = inner.ends === null ? i + 1 : inner.ends[i];
    starts[i] = at(s);
    ends[i] = e > s ? outer.ends[e - 1] : starts[i];
  }
  return { text: inner.text, starts, ends };
}

/** Copies text[from, to) of a normalized string with its alignment. */
export function sliceNormalized(ns: NormalizedString, from: number, to: number): NormalizedString {
  const starts = new Int32Array(to - from);
  const ends = new Int32Array(to - from);
  for (let i = from; i < to; i++) {
    starts[i - from] = ns.starts === null ? i : ns.starts[i];
    ends[i - from] = ns.ends === null ? i + 1 : ns.ends[i];
  }
  return { text: ns.text.slice(from, to), starts, ends };
}
