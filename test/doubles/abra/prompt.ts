import { createInterface } from 'node:readline/promises';
import { flag, type ParsedArgs } from './args.js';
import { fatal } from './fatal.js';

// source: operators' notes (reference/abra.md: "always pass -n/--no-input"; DESIGN.md: abra's need for a
// terminal). The refusal text is the double's own: abra's real message without -n and a terminal is U, so the
// double takes the harsher reading (refuse before doing anything) and the driver matches on the exit code.
/**
 * Commands that would ask "continue?" refuse outright, before doing anything,
 * when nobody can answer: no -n/--no-input and stdin is not a terminal.
 */
export function assertCanPrompt(args: ParsedArgs): void {
  if (!flag(args, 'no-input') && !process.stdin.isTTY) {
    fatal('refusing to prompt: stdin is not a terminal (pass -n/--no-input to run non-interactively)');
  }
}

export async function confirm(args: ParsedArgs, question: string): Promise<void> {
  assertCanPrompt(args);
  if (flag(args, 'no-input')) return;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`? ${question} (y/N) `);
    if (!/^y(es)?$/i.test(answer.trim())) fatal('cancelled');
  } finally {
    rl.close();
  }
}
