/**
 * Every secret value coopctl resolves is registered here, and every line that
 * leaves the process (stdout, stderr, logs, history, manifests) passes
 * through redact(). One place, so no output path can forget it.
 */
const secrets = new Set<string>();

export function registerSecret(value: string): void {
  // Very short values would mask ordinary words; secrets are never this short.
  if (value.length >= 6) secrets.add(value);
}

export function redact(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[REDACTED]');
  }
  return out;
}

export function redactDeep<T>(value: T): T {
  if (secrets.size === 0) return value;
  return JSON.parse(redact(JSON.stringify(value))) as T;
}

/** For tests only. */
export function clearSecrets(): void {
  secrets.clear();
}
