/**
 * Added tokens ([CLS], [MASK], user-added words) are found in the text before normalization and
 * kept whole, never split or lower-cased (transformers' tokens_trie; tokenizers' AddedVocabulary).
 */
export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
  /** true: matched in normalized text (e.g. case-blind when the normalizer lower-cases). */
  normalized: boolean;
  /** Swallow whitespace on the left / right of the token. */
  lstrip: boolean;
  rstrip: boolean;
  /** Only match as a whole word. */
  singleWord: boolean;
}

/** A match: [start, end) of the text it covers (whitespace swallowed included). */
export interface AddedTokenMatch {
  start: number;
  end: number;
  token: AddedToken;
}

const WORD_CHAR = /[\p{L}\p{N}_]/u;

/** Finds added tokens, leftmost first and longest at each position, in linear time (one regex scan). */
export class AddedTokenMatcher {
  private readonly pattern: RegExp | null;
  private readonly byContent = new Map<string, AddedToken>();

  constructor(tokens: readonly AddedToken[], caseInsensitive = false) {
    for (const t of tokens) if (t.content.length > 0) this.byContent.set(caseInsensitive ? t.content.toLowerCase() : t.content, t);
    const contents = [...this.byContent.keys()].sort((a, b) => b.length - a.length);
    // Longest alternatives first: the regex takes the first alternative that matches at a position.
    this.pattern =
      contents.length > 0
        ? new RegExp(contents.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), caseInsensitive ? "giu" : "gu")
        : null;
  }

  get isEmpty(): boolean {
    return this.pattern === null;
  }

  /** Matches in text[from, to), in order, not overlapping. */
  find(text: string, from = 0, to = text.length): AddedTokenMatch[] {
    const found: AddedTokenMatch[] = [];
    if (this.pattern === null) return found;
    const re = this.pattern;
    re.lastIndex = from;
    let previousEnd = from;
    for (let m = re.exec(text); m !== null && m.index < to; m = re.exec(text)) {
      let start = m.index;
      let end = start + m[0].length;
      if (end > to) break;
      const token = this.byContent.get(this.pattern.flags.includes("i") ? m[0].toLowerCase() : m[0]);
      if (token === undefined) continue;
      if (token.singleWord) {
        const before = start > from ? text[start - 1] : "";
        const after = end < to ? text[end] : "";
        if ((before && WORD_CHAR.test(before)) || (after && WORD_CHAR.test(after))) {
          re.lastIndex = start + 1;
          continue;
        }
      }
      if (token.lstrip) while (start > previousEnd && /\s/.test(text[start - 1])) start--;
      if (token.rstrip) while (end < to && /\s/.test(text[end])) end++;
      found.push({ start, end, token });
      previousEnd = end;
      re.lastIndex = end;
    }
    return found;
  }
}
