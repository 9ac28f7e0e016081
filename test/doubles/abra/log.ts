// source: operators' notes (reference/abra.md, U): "Tables and JSON on stdout, logs on stderr". Unconfirmed:
// the driver must parse tolerantly (FATA on either stream); `coopctl doctor` records where abra 0.13 writes them.
/** Tables and JSON go to stdout, logs to stderr (charmbracelet/log style levels), as abra does. */
export function out(text = ''): void {
  process.stdout.write(`${text}\n`);
}

export function info(text: string): void {
  process.stderr.write(`INFO ${text}\n`);
}

export function warn(text: string): void {
  process.stderr.write(`WARN ${text}\n`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
