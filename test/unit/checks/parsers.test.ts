import { describe, expect, it } from 'vitest';
import { parseDf } from '../../../src/checks/disk.js';
import { degradedArrays } from '../../../src/checks/raid.js';
import { parseAnsibleVersion } from '../../../src/drivers/ansible/tool.js';
import { ToolOutputError } from '../../../src/kernel/errors.js';

describe('check parsers', () => {
  it('reads df -Pk', () => {
    const out = `Filesystem     1024-blocks      Used Available Capacity Mounted on
/dev/md2        1921801100 812345000 1011771196      45% /
tmpfs              8000000       100    7999900       1% /tmp
`;
    expect(parseDf(out)).toEqual([
      { mount: '/', availableBytes: 1011771196 * 1024 },
      { mount: '/tmp', availableBytes: 7999900 * 1024 },
    ]);
    expect(() => parseDf('Filesystem\ngarbage')).toThrow(ToolOutputError);
  });

  it('finds degraded md arrays', () => {
    const healthy = `Personalities : [raid1]
md2 : active raid1 nvme0n1p3[0] nvme1n1p3[1]
      1919301632 blocks super 1.2 [2/2] [UU]
      bitmap: 4/15 pages [16KB], 65536KB chunk

md0 : active raid1 nvme0n1p1[0] nvme1n1p1[1]
      33520640 blocks super 1.2 [2/2] [UU]
unused devices: <none>`;
    expect(degradedArrays(healthy)).toEqual([]);
    expect(degradedArrays(healthy.replace('[2/2] [UU]\n      bitmap', '[2/1] [U_]\n      bitmap'))).toEqual([
      'md2 [U_]',
    ]);
  });

  it('reads ansible-playbook --version', () => {
    expect(parseAnsibleVersion('ansible-playbook [core 2.14.18]\n  config file = None')).toBe('2.14.18');
  });
});
