/**
 * The `bert-ts` command line. Each command lives in its own file under commands/ and registers
 * itself on the program; this file only assembles them.
 */
import { Command, CommanderError } from "commander";
import { commands } from "./commands/index.js";
import { COMMAND_ORDER, examplesHelp } from "./help-examples.js";
import { VERSION } from "../version.js";

export async function main(argv: string[]): Promise<void> {
  const program = new Command("bert-ts")
    .description("BERT in TypeScript: tokenize, embed, classify, search — the same numbers as PyTorch.")
    .version(VERSION, "-V, --version", "print the bert-ts version")
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  // Listed in a reading order (help-examples.ts), each with examples at the end of its --help.
  const rank = (name: string) => (COMMAND_ORDER.includes(name) ? COMMAND_ORDER.indexOf(name) : COMMAND_ORDER.length);
  (program.commands as Command[]).sort((a, b) => rank(a.name()) - rank(b.name()));
  for (const command of program.commands) {
    const examples = examplesHelp(command.name());
    if (examples) command.addHelpText("after", examples);
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit with code 0; usage errors were already printed by commander.
      process.exitCode = err.exitCode;
      return;
    }
    throw err;
  }
}
