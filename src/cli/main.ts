/**
 * The `bert-ts` command line. Each command lives in its own file under commands/ and registers
 * itself on the program; this file only assembles them. Only the command being run is imported:
 * the command list in `--help` comes from commands/index.ts's table, so start-up stays small.
 */
import { Command, CommanderError, Help, type OutputConfiguration } from "commander";
import { COMMANDS, type CommandEntry } from "./commands/index.js";
// The build (scripts/build-cli.mjs) lists the command names for bin/bert-ts.js's code cache files.
export { COMMANDS };
import { examplesHelp } from "./help-examples.js";
import { VERSION } from "../version.js";
import { traceLoad } from "../io/load-trace.js";

/** The command argv names (`bert-ts embed ...`, `bert-ts help embed`), if it is one of ours. */
function requestedCommand(args: readonly string[]): CommandEntry | undefined {
  const words = args.filter((a) => !a.startsWith("-"));
  const name = words[0] === "help" ? words[1] : words[0];
  return COMMANDS.find((c) => c.name === name);
}

/**
 * Runs the command line. `output` redirects commander's output (scripts/build-cli.mjs renders the
 * top-level --help at each terminal width through it, for bin/bert-ts.js to print without loading
 * this module; test/cli/help-text.test.ts compares the two).
 */
export async function main(argv: string[], output?: OutputConfiguration): Promise<void> {
  traceLoad("cli");
  const program = new Command("bert-ts")
    .description("BERT in TypeScript: tokenize, embed, classify, search — the same numbers as PyTorch.")
    .version(VERSION, "-V, --version", "print the bert-ts version")
    .showHelpAfterError()
    .exitOverride();
  if (output) program.configureOutput(output);
  const wanted = requestedCommand(argv.slice(2));
  if (wanted) {
    (await wanted.load())(program);
    traceLoad(`command ${wanted.name}`);
  } else {
    // No command (--help, --version, a typo): list them all from the table, loading none.
    for (const entry of COMMANDS) program.command(entry.name).description(entry.summary);
    const terms = new Map(COMMANDS.map((c) => [c.name, c.term]));
    const help = new Help();
    program.configureHelp({ subcommandTerm: (cmd) => terms.get(cmd.name()) ?? help.subcommandTerm(cmd) });
  }
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
