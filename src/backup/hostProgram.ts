import { readFileSync } from 'node:fs';
import { ShellLine } from '../remote/quote.js';

const texts = new Map<string, string>();

/**
 * The text of `host/NAME.sh`, a program coopctl runs on a host as `bash -c TEXT coopctl ARG...` (hostScript):
 * real files, so that `shellcheck` checks them (scripts/test.sh). The build copies them beside the modules.
 * Several names: one program, the files in that order (a preamble such as s3-preamble.sh or watchdog.sh first).
 */
export function hostProgram(...names: readonly string[]): string {
  return names.map(programText).join('');
}

function programText(name: string): string {
  let text = texts.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./host/${name}.sh`, import.meta.url), 'utf8');
    texts.set(name, text);
  }
  return text;
}

/** bash -c SCRIPT coopctl ARG...: the script's text is fixed, every value an argument. */
export function hostScript(script: string, args: readonly string[]): ShellLine {
  return ShellLine.argv(['bash', '-c', script, 'coopctl', ...args]);
}
