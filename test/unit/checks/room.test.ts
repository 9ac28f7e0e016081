import { describe, expect, it } from 'vitest';
import type { VolumeSize } from '../../../src/backup/volumes.js';
import { backupHostCheck } from '../../../src/checks/backupHost.js';
import { diskCheck } from '../../../src/checks/disk.js';
import { changeRoom, copyBytes, describePayload, headroomOf, type Payload } from '../../../src/checks/room.js';
import type { CheckContext } from '../../../src/targets/target.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const volume = (name: string, bytes: number): VolumeSize => ({
  volume: { name, volume: `bonfire_sandbox_${name}` },
  mountpoint: `/var/lib/docker/volumes/bonfire_sandbox_${name}/_data`,
  bytes,
});
const checks = { diskHeadroom: 1.5, minFreeBytes: 2 * GiB };

describe('the room a change needs: the database and the volumes backed up with it', () => {
  it('headroom × (database + volumes), at least minFreeBytes; one on-host copy is their sum', () => {
    const dbOnly: Payload = { dbBytes: 4 * GiB, volumes: [] };
    const withVolumes: Payload = { dbBytes: 4 * GiB, volumes: [volume('upload-data', 6 * GiB), volume('x', GiB)] };
    expect(changeRoom(dbOnly, checks)).toBe(6 * GiB);
    expect(changeRoom(withVolumes, checks)).toBe(16.5 * GiB);
    expect(changeRoom({ dbBytes: MiB, volumes: [volume('upload-data', MiB)] }, checks)).toBe(2 * GiB);
    expect(copyBytes(dbOnly)).toBe(4 * GiB);
    expect(copyBytes(withVolumes)).toBe(11 * GiB);
    expect(headroomOf(dbOnly)).toBe('the database');
    expect(headroomOf(withVolumes)).toBe('the database and volumes upload-data, x');
    expect(describePayload(dbOnly)).toBe('database 4.0 GiB');
    expect(describePayload(withVolumes)).toBe('database 4.0 GiB, volumes 7.0 GiB (upload-data 6.0 GiB, x 1.0 GiB)');
  });
});

/** A host whose `df -Pk` answers `availKiB` free on every path it is asked about, all on one filesystem. */
function context(payload: Payload, availKiB: number): CheckContext {
  const df = (paths: string[]) =>
    'Filesystem     1024-blocks      Used Available Capacity Mounted on\n' +
    paths.map(() => `/dev/md2 1921801100 812345000 ${availKiB} 45% /`).join('\n');
  // disk runs `df -Pk DATA TMP` (an argv); backup-host its probe (a ShellLine), which ends with df of two paths
  const exec = async (cmd: unknown) => {
    if (Array.isArray(cmd)) return { stdout: df(cmd.slice(2)), stderr: '', exitCode: 0 };
    return { stdout: `writable /var/backups\n${df(['data', 'backups'])}\n`, stderr: '', exitCode: 0 };
  };
  return {
    target: {
      host: { name: 'hypha' },
      paths: { dataDir: '/var/lib/docker', tmpDir: '/tmp', backupDir: '/var/backups/coopctl' },
      remote: { exec },
    },
    context: { config: { checks, backup: { store: 'local', stores: { local: { type: 'local' } } } } },
    facts: { dbSizeBytes: async () => payload.dbBytes, volumeBytes: async () => payload.volumes },
    allowPrerelease: false,
  } as unknown as CheckContext;
}

describe('disk and backup-host count the volumes', () => {
  const payload: Payload = { dbBytes: 4 * GiB, volumes: [volume('upload-data', 6 * GiB)] };
  // 10 GiB free: room for 1.5 × the database (6 GiB), not for 1.5 × (database + volumes) (15 GiB)
  const free = (10 * GiB) / 1024;

  it('disk: room for the database alone passes, not with the volumes; the message names them', async () => {
    expect((await diskCheck.run(context({ ...payload, volumes: [] }, free))).status).toBe('warn');
    expect(await diskCheck.run(context(payload, free))).toMatchObject({
      status: 'fail',
      message:
        'not enough free space on data dir /var/lib/docker and /tmp: need 15.0 GiB ' +
        '(1.5× the database and volumes upload-data, at least 2.0 GiB); database 4.0 GiB, volumes 6.0 GiB ' +
        '(upload-data 6.0 GiB); free: /var/lib/docker 10.0 GiB, /tmp 10.0 GiB',
    });
  });

  it('backup-host: one more copy (database + volumes) beside the room of the change on a shared disk', async () => {
    // shared: 4 GiB + 6 GiB of copy + 15 GiB for the change = 25 GiB
    const short = await backupHostCheck.run(context(payload, (24 * GiB) / 1024));
    expect(short).toMatchObject({
      status: 'fail',
      message:
        'not enough room for one more on-host backup copy: need 25.0 GiB; /var/backups/coopctl: 24.0 GiB free ' +
        '(shared with /var/lib/docker); a copy holds the database 4.0 GiB, volumes 6.0 GiB (upload-data 6.0 GiB)',
    });
    expect((await backupHostCheck.run(context({ ...payload, volumes: [] }, (24 * GiB) / 1024))).status).toBe('pass');
    expect((await backupHostCheck.run(context(payload, (25 * GiB) / 1024))).status).toBe('pass');
  });
});
