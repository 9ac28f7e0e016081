/**
 * Values made once per key and then shared: the one memoizing style of coopctl (a fact read once per run, a
 * client made once). A promise is kept as it is, so callers at the same time share one read.
 */
export class Memo {
  private readonly made = new Map<string, unknown>();

  once<T>(key: string, make: () => T): T {
    if (!this.made.has(key)) this.made.set(key, make());
    return this.made.get(key) as T;
  }

  /** As `once`, but a failed read is forgotten: the next caller tries again (a host unreachable for a moment). */
  retrying<T>(key: string, make: () => Promise<T>): Promise<T> {
    const known = this.made.has(key);
    const p = this.once(key, make);
    if (!known) p.catch(() => this.made.delete(key));
    return p;
  }
}
