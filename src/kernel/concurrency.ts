/** Runs fn over items with at most `limit` in flight; results keep input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Like Promise.allSettled over mapLimit: one failure does not stop the others. */
export function settleLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>) {
  return mapLimit(items, limit, async (item) => {
    try {
      return { ok: true as const, value: await fn(item) };
    } catch (error) {
      return { ok: false as const, error };
    }
  });
}
