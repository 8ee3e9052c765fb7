import type { Command } from "commander";
import { registerTokenize } from "./tokenize.js";
import { registerEmbed } from "./embed.js";

/** Every CLI command registers itself here (one file per command). */
export const commands: Array<(program: Command) => void> = [
  registerTokenize,
  registerEmbed,
];
