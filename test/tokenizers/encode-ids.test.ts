/**
 * Tokenizer.encodeIds (the embedding loop's encode: ids only, its own word loop that never records
 * offsets or word ids) against encode() on edge cases the golden files may not hold: accents, CJK,
 * emoji and other astral characters, control and zero-width characters, added/special tokens inside
 * the text, words past the WordPiece length limit, long pairs truncated. Every tokenizer folder of
 * ../shared/models, from each source it has (the golden inputs are checked in the *-golden tests).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizers/index.js";
import { MODELS_DIR } from "../helpers/paths.js";

const TEXTS = [
  "",
  " ",
  "Hello, world!",
  "  leading and trailing spaces\t\n",
  "Café naïve résumé Ångström ÉCOLE façade",
  "Ελληνικά ΣΊΣΥΦΟΣ και Русский ТЕКСТ",
  "中文字符和日本語のテキスト、한국어 텍스트",
  "mixed中文and English 123,456.78",
  "emoji 😀👍🏽 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 astral 𠀀",
  "zero\u200bwidth\u00adsoft\u0000nul\ufffdreplacement\u0007bell",
  "[CLS] [SEP] [MASK] <s> </s> <mask> [UNK] <unk> inside text",
  "a" + "b".repeat(120) + " word past the length limit " + "x".repeat(300),
  "antidisestablishmentarianism supercalifragilisticexpialidocious",
  "don't won't it's e-mail U.S.A. #hashtag @mention http://example.com/a?b=c",
  "combining e\u0301 a\u0308 n\u0303 and precomposed é ä ñ",
  "ﬁ ligature, ① circled, Ｆｕｌｌｗｉｄｔｈ",
];

function pairs(): [string, string | null][] {
  const out: [string, string | null][] = TEXTS.map((t) => [t, null]);
  for (let i = 0; i + 1 < TEXTS.length; i += 2) out.push([TEXTS[i], TEXTS[i + 1]]);
  out.push([TEXTS.join(" "), TEXTS.slice().reverse().join(" ")]);
  return out;
}

function check(tok: Tokenizer, label: string): void {
  for (const [a, b] of pairs()) {
    for (const options of [{}, { truncation: "longest_first" as const, maxLength: 40 }, { addSpecialTokens: false }]) {
      const where = `${label} ${JSON.stringify([a.slice(0, 30), b?.slice(0, 30) ?? null])} ${JSON.stringify(options)}`;
      const full = tok.encode(a, b, options);
      const ids = tok.encodeIds(a, b, options);
      assert.deepEqual(ids.inputIds, full.inputIds, `${where} inputIds`);
      assert.deepEqual(ids.tokenTypeIds, full.tokenTypeIds, `${where} tokenTypeIds`);
      assert.deepEqual(ids.attentionMask, full.attentionMask, `${where} attentionMask`);
      assert.deepEqual(ids.specialTokensMask, full.specialTokensMask, `${where} specialTokensMask`);
      assert.equal(ids.numTruncatedTokens, full.numTruncatedTokens, `${where} numTruncatedTokens`);
    }
  }
}

const folders = existsSync(MODELS_DIR) ? readdirSync(MODELS_DIR).filter((d) => existsSync(join(MODELS_DIR, d, "config.json"))) : [];

describe("encodeIds gives encode()'s ids on edge cases, every tokenizer folder and source", { skip: folders.length === 0 ? `no models in ${MODELS_DIR}` : false }, () => {
  for (const name of folders) {
    const dir = join(MODELS_DIR, name);
    const sources: ("auto" | "tokenizer.json")[] = ["auto", ...(existsSync(join(dir, "tokenizer.json")) ? (["tokenizer.json"] as const) : [])];
    for (const source of sources) {
      it(`${name} (${source})`, async () => {
        const tok = await loadTokenizer(dir, source === "auto" ? {} : { source });
        check(tok, `${name} (${source})`);
      });
    }
  }
});
