import { readFileSync } from 'node:fs';

const texts = new Map<string, string>();

/**
 * The text of `host/NAME.sh`, a program coopctl runs on a host as `bash -c TEXT coopctl ARG...` (hostScript):
 * real files, so that `shellcheck` checks them (scripts/test.sh). The build copies them beside the modules.
 */
export function hostProgram(name: string): string {
  let text = texts.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`./host/${name}.sh`, import.meta.url), 'utf8');
    texts.set(name, text);
  }
  return text;
}
