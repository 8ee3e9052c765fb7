/** Last stage: token strings back to text. */
export interface Decoder {
  decode(tokens: readonly string[]): string;
}
