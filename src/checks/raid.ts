import { fail, pass } from '../targets/check.js';
import type { Check } from '../targets/target.js';

/** Degraded md arrays from /proc/mdstat: a status like [U_] has a missing member. */
export function degradedArrays(mdstat: string): string[] {
  const out: string[] = [];
  let current: string | undefined;
  for (const line of mdstat.split('\n')) {
    const dev = /^(md\w+)\s*:/.exec(line);
    if (dev) current = dev[1];
    const status = /\[([U_]+)\]\s*$/.exec(line.trim());
    if (current && status?.[1].includes('_')) out.push(`${current} [${status[1]}]`);
  }
  return out;
}

export const raidCheck: Check = {
  id: 'raid',
  needs: ['ssh'],
  async run({ target }) {
    const r = await target.remote.exec(['cat', target.paths.mdstat], { mutates: false, reject: false });
    if (r.exitCode !== 0) return pass('no software RAID on this host');
    const bad = degradedArrays(r.stdout);
    if (bad.length) {
      return fail(
        `degraded RAID: ${bad.join(', ')}`,
        'replace the failed disk and let the array resync before changing anything (mdadm --detail)',
      );
    }
    const arrays = (r.stdout.match(/^md\w+/gm) ?? []).length;
    return pass(arrays ? `${arrays} RAID array(s) healthy` : 'no software RAID on this host');
  },
};
