const SEGMENT = /^[\w][\w.-]*$/;

/** Keys are built by coopctl, but a store still refuses anything that could escape its root. */
export function assertKey(key: string): string {
  const parts = key.split('/');
  if (!parts.every((p) => SEGMENT.test(p) && p !== '..'))
    throw new Error(`internal: bad store key ${JSON.stringify(key)}`);
  return key;
}

export function assertPrefix(prefix: string): string {
  if (prefix !== '') assertKey(prefix.replace(/\/$/, ''));
  return prefix;
}
