// Shared helpers for the benchmarks: interleaved runs, medians, ratio lines.
import { spawnSync } from 'node:child_process';

export function timeOnce(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Runs each case `runs` times, interleaved so machine load hits all of them alike. */
export function compare(cases, runs) {
  const times = cases.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [j, c] of cases.entries()) times[j].push(timeOnce(c.cmd, c.args, c.opts));
  }
  return cases.map((c, j) => ({ name: c.name, median: median(times[j]) }));
}

export function report(title, baseline, results, target) {
  console.log(`\n${title}`);
  console.log(`  baseline  ${baseline.name}: ${baseline.median.toFixed(1)} ms`);
  for (const r of results) {
    const ratio = r.median / baseline.median;
    const verdict =
      target === undefined ? '' : ratio <= target ? `  (target ≤ ${target}×: ok)` : `  (target ≤ ${target}×: MISSED)`;
    console.log(`  ${r.name}: ${r.median.toFixed(1)} ms = ${ratio.toFixed(2)}× baseline${verdict}`);
  }
}
