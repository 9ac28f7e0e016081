/** A duration as Prometheus writes one (`26h`, `21d`, `90s`): the largest unit that divides it. */
export function promDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
  ] as const) {
    if (s >= size && s % size === 0) return `${s / size}${unit}`;
  }
  return `${s}s`;
}
