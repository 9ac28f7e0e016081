import { databaseProbe } from './database.js';
import { type HostTool, toolProbe } from './tools.js';
import type { DoctorContext, DoctorProbe } from '../../targets/target.js';

function withDatabase(ctx: DoctorContext): string[] {
  return ctx.targets.filter((t) => t.database).map((t) => `${t.service}/${t.env}`);
}

function s3Stores(ctx: DoctorContext): string[] {
  const { stores } = ctx.context.config.backup;
  return Object.entries(stores)
    .filter(([, s]) => s.type === 's3')
    .map(([name]) => name);
}

/** zstd and age always, rclone when a store is S3: what backups run on the host (src/checks/backupHost.ts). */
function backupTool(bin: string, forS3: boolean, use: string, versionArgv: string[], version: RegExp): HostTool {
  return {
    subject: bin,
    bin,
    versionArgv,
    version,
    whenMissing: 'backups, and so every change, stop at preflight (backup-host), before anything changes',
    neededFor(ctx) {
      const dbs = withDatabase(ctx);
      const s3 = s3Stores(ctx);
      if (!dbs.length || (forS3 && !s3.length)) return undefined;
      const stores = forS3 ? ` to the S3 store${s3.length > 1 ? 's' : ''} ${s3.join(', ')}` : '';
      return `backups of ${dbs.join(', ')}${stores} run on ${ctx.target.host.name}: ${use}`;
    },
  };
}

const TOOLS: HostTool[] = [
  {
    subject: 'docker',
    bin: 'docker',
    versionArgv: ['docker', '--version'],
    // "Docker version 27.3.1, build ce12230"
    version: /Docker version v?(\d+\.\d+(?:\.\d+)?)/,
    whenMissing: 'status, backups and changes of its services fail there',
    install: 'install Docker Engine (docs.docker.com/engine/install/debian)',
    neededFor: (ctx) =>
      `${ctx.targets.map((t) => `${t.service}/${t.env}`).join(', ')} run in docker on ${ctx.target.host.name}: ` +
      'coopctl reads their services and runs the database tools in their containers',
  },
  // "*** Zstandard CLI (64-bit) v1.5.4, by Yann Collet ***"
  backupTool('zstd', false, 'zstd compresses the on-host copy', ['zstd', '--version'], /\bv(\d+\.\d+\.\d+)/),
  // "1.1.1" or "v1.2.0"
  backupTool('age', false, 'age encrypts it there', ['age', '--version'], /^v?(\d+\.\d+\.\d+\S*)/m),
  // "rclone v1.60.1-DEV"
  backupTool('rclone', true, 'rclone uploads it', ['rclone', 'version'], /rclone v(\d+\.\d+\.\d+\S*)/),
  {
    subject: 'sudo',
    bin: 'sudo',
    versionArgv: ['sudo', '-V'],
    // "Sudo version 1.9.13p3"
    version: /Sudo version (\S+)/,
    whenMissing: 'every command coopctl runs there is refused (exit 3), before anything changes',
    neededFor: ({ target: t }) =>
      t.host.become
        ? `the inventory says ansible_become: every command on ${t.host.name} runs as ` +
          `\`sudo -n -u ${t.host.become.user} --\` (the ssh finding says whether it works without a password)`
        : undefined,
  },
];

/** The probes every host and every service with a database get, whatever deploys them. */
export const DOCTOR_PROBES: readonly DoctorProbe[] = [...TOOLS.map(toolProbe), databaseProbe];
