import { formatBytes } from '../kernel/validate.js';
import { ToolOutputError } from '../kernel/errors.js';
import { fail, pass, warn } from '../targets/check.js';
import type { Check } from '../targets/target.js';
import { changeRoom, roomCheck, describePayload, headroomOf, readPayload } from './room.js';

/** `df -Pk` lines → available bytes per mount point argument, in order. */
export function parseDf(stdout: string): Array<{ mount: string; availableBytes: number }> {
  const lines = stdout.trim().split('\n').slice(1);
  return lines.map((l) => {
    const cols = l.trim().split(/\s+/);
    const avail = Number(cols[3]);
    if (cols.length < 6 || !Number.isFinite(avail))
      throw new ToolOutputError(`unexpected df output: ${l.slice(0, 120)}`);
    return { mount: cols.slice(5).join(' '), availableBytes: avail * 1024 };
  });
}

export const diskCheck: Check = {
  id: 'disk',
  ...roomCheck,
  async run({ target, facts, context }) {
    const { dataDir, tmpDir } = target.paths;
    const [df, payload] = await Promise.all([
      target.remote.exec(['df', '-Pk', dataDir, tmpDir], { mutates: false }),
      readPayload(facts),
    ]);
    const [data, tmp] = parseDf(df.stdout);
    const { diskHeadroom, minFreeBytes } = context.config.checks;
    const need = changeRoom(payload, { diskHeadroom, minFreeBytes });
    const short = [
      { what: `data dir ${dataDir}`, free: data.availableBytes },
      { what: `${tmpDir}`, free: tmp.availableBytes },
    ].filter((x) => x.free < need);
    const summary =
      `${describePayload(payload)}; free: ${dataDir} ${formatBytes(data.availableBytes)}, ` +
      `${tmpDir} ${formatBytes(tmp.availableBytes)}`;
    if (short.length) {
      return fail(
        `not enough free space on ${short.map((s) => s.what).join(' and ')}: need ${formatBytes(need)} ` +
          `(${diskHeadroom}× ${headroomOf(payload)}, at least ${formatBytes(minFreeBytes)}); ${summary}`,
        'free space (old images: docker image prune; old logs) before upgrading: migrations and dumps need room',
      );
    }
    if (data.availableBytes < need * 2)
      return warn(`free space is getting tight: ${summary}`, 'plan more disk: the database roughly doubles every year');
    return pass(summary);
  },
};
