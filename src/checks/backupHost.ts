import { ShellLine } from '../remote/quote.js';
import { formatBytes } from '../kernel/validate.js';
import { fail, pass } from '../targets/check.js';
import { parseDf } from './disk.js';
import type { Check } from '../targets/target.js';
import { changeRoom, roomCheck, copyBytes, describePayload, readPayload } from './room.js';

/**
 * Backups run on the host: zstd (the on-host copy) and age (each part is encrypted there) always, rclone for an
 * S3 store (uploaded from there). The on-host copy's directory must be writable (or creatable) and have room for
 * one more copy (at most the database's size) on top of what the disk check asks of the data dir when they share
 * a filesystem.
 * With `volumes:`, the copy holds their archives too, and the room a change needs grows with them (room.ts).
 * The directory may not exist yet: its nearest existing ancestor answers.
 */
const PROBE = `for t in "\${@:3}"; do command -v "$t" >/dev/null || echo "missing $t"; done
d=$1
while [ ! -e "$d" ]; do d=\${d%/*}; d=\${d:-/}; done
if [ -d "$d" ] && [ -w "$d" ] && [ -x "$d" ]; then echo "writable $d"; else echo "not-writable $d"; fi
df -Pk "$2" "$d"`;

export const backupHostCheck: Check = {
  id: 'backup-host',
  ...roomCheck,
  async run({ target, facts, context }) {
    const { backupDir, dataDir } = target.paths;
    const cfg = context.config.backup;
    const tools = ['zstd', 'age', ...(cfg.stores[cfg.store]?.type === 's3' ? ['rclone'] : [])];
    const [r, payload] = await Promise.all([
      target.remote.exec(ShellLine.argv(['bash', '-c', PROBE, 'coopctl', backupDir, dataDir, ...tools]), {
        mutates: false,
        reject: false,
      }),
      readPayload(facts),
    ]);
    const missing = [...r.stdout.matchAll(/^missing (\S+)$/gm)].map((m) => m[1]);
    if (missing.length) {
      return fail(
        `${missing.join(', ')} not found on ${target.host.name}: backups run there`,
        `apt-get install ${missing.join(' ')} (the playbook installs them)`,
      );
    }
    const where = /^(not-)?writable (.+)$/m.exec(r.stdout);
    if (!where || where[1]) {
      return fail(
        `the backup directory ${backupDir} cannot be written on ${target.host.name}` +
          (where ? ` (${where[2]} is not writable)` : `: ${r.stderr.trim().slice(0, 200)}`),
        `as root on ${target.host.name}: install -d -m 0700 ${backupDir}, ` +
          'or set backup.onHost.dir / the inventory var coopctl_backup_dir',
      );
    }
    const [data, backups] = parseDf(r.stdout.slice(r.stdout.indexOf('Filesystem')));
    const { diskHeadroom, minFreeBytes } = context.config.checks;
    const shared = data.mount === backups.mount;
    const need = copyBytes(payload) + (shared ? changeRoom(payload, { diskHeadroom, minFreeBytes }) : 0);
    const free = `${formatBytes(backups.availableBytes)} free`;
    const summary =
      `${backupDir}: ${free}${shared ? ` (shared with ${dataDir})` : ''}` +
      (payload.volumes.length ? `; a copy holds the ${describePayload(payload)}` : '');
    if (backups.availableBytes < need) {
      return fail(
        `not enough room for one more on-host backup copy: need ${formatBytes(need)}; ${summary}`,
        `free space, or lower backup.onHost.keep (copies in ${backupDir})`,
      );
    }
    return pass(`${tools.join(', ')} present; ${summary}`);
  },
};
