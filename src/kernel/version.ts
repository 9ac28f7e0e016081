import { readFileSync } from 'node:fs';

/** coopctl's own version, from package.json (cheap: --version needs nothing else). */
export function coopctlVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}
