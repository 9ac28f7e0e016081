import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../../src/kernel/errors.js';
import { startSshd, stopSshd } from './sshd.js';
import type { SandboxHost } from './state.js';

/**
 * What a fresh Debian host lacks until someone runs `apt-get install age zstd rclone` (README, backup).
 * source: none of the three is more than Priority: optional in Debian bookworm (`apt-cache show zstd age rclone`).
 */
const BACKUP_TOOLS = ['zstd', 'age', 'rclone'];
/** The program directories of the sandbox hosts' PATH after their stand-ins (test/world/world.ts hostEnv). */
const SYSTEM_DIRS = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'];

/**
 * `backup-tools-missing`: the host never had zstd, age and rclone installed, which coopctl's backups run there.
 * This machine has them in /usr/bin, which every host shares, so the host's sessions get another PATH (sshd's
 * SetEnv): its stand-ins, then R/sysbin, a link to every program of the system directories but those three. sshd
 * is restarted to read it. A host reached with sudo is refused: sudo sets PATH from its secure_path.
 */
export async function setBackupToolsMissing(root: string, h: SandboxHost, on: boolean): Promise<void> {
  if (h.login) throw new InputError(`KIND: backup-tools-missing applies to a host reached as root, not ${h.name}`);
  const sshdDir = path.join(root, 'etc', 'ssh');
  const config = path.join(sshdDir, 'sshd_config');
  const saved = path.join(sshdDir, 'PATH.before-backup-tools-missing');
  const sysbin = path.join(root, 'sysbin');
  const text = readFileSync(config, 'utf8');
  let next: string;
  if (on) {
    if (!existsSync(saved)) writeFileSync(saved, /\bPATH=(\S+)/.exec(text)![1]);
    rmSync(sysbin, { recursive: true, force: true });
    mkdirSync(sysbin, { recursive: true });
    for (const dir of SYSTEM_DIRS.filter(existsSync)) {
      for (const name of readdirSync(dir)) {
        const link = path.join(sysbin, name);
        // the first directory wins, as on PATH
        if (!BACKUP_TOOLS.includes(name) && !existsSync(link)) symlinkSync(path.join(dir, name), link);
      }
    }
    next = `${path.join(root, 'bin')}:${sysbin}`;
  } else {
    if (!existsSync(saved)) return;
    next = readFileSync(saved, 'utf8').trim();
    rmSync(saved);
    rmSync(sysbin, { recursive: true, force: true });
  }
  writeFileSync(config, text.replace(/\bPATH=\S+/, `PATH=${next}`));
  await stopSshd(sshdDir);
  await startSshd({ dir: sshdDir, ...h.ssh, netns: h.netns?.ns, authorizedKeys: '', env: {} });
}
