/** abra's failure mode: one `FATA <message>` line on stderr, exit 1. */
export class Fatal extends Error {}

export function fatal(message: string): never {
  throw new Fatal(message);
}
