// source: operators' notes (reference/production.md: "Errors: a `FATA ...` line and exit 1", C for the text;
// reference/abra.md leaves the exit code U). The double exits 1, the only code the driver may rely on.
/** abra's failure mode: one `FATA <message>` line on stderr, exit 1. */
export class Fatal extends Error {}

export function fatal(message: string): never {
  throw new Fatal(message);
}
