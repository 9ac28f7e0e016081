import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { configSchemaFor } from '../../../src/config/schema.js';
import { RemoteError } from '../../../src/kernel/errors.js';
import { ExecaRunner } from '../../../src/kernel/process.js';
import { doctorTargets, runDoctor } from '../../../src/operations/doctor.js';
import type { RemoteHost } from '../../../src/remote/ssh.js';
import { finding } from '../../../src/targets/doctor.js';
import type { DoctorProbe, Target } from '../../../src/targets/target.js';
import { Workspace } from '../../../src/workspace/workspace.js';
import { LocalHost } from '../../helpers/localHost.js';
import { fakeService } from '../pipeline/fakeService.js';

/**
 * The doctor's engine with a made-up driver's probes: each runs once for what it covers, one that throws is a
 * finding that says so, and a host that does not answer is one finding, its probes not run.
 */
const root = mkdtempSync(path.join(os.tmpdir(), 'coopctl-doctor-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ran: string[] = [];
const probe = (id: string, scope: DoctorProbe['scope'], fn?: () => never): DoctorProbe => ({
  id,
  scope,
  async run({ target, targets }) {
    ran.push(`${id} ${target.host.name} ${targets.map((t) => t.env).join(',')}`);
    fn?.();
    return [finding(id, `${target.service}/${target.env}`, 'ok', { found: 'fine', assumes: 'a', action: 'b' })];
  },
});

const { driver, profile } = fakeService({ failDeploy: new Set(), unhealthy: new Set() }, path.join(root, 'b'));
const doctorDriver = {
  ...driver,
  doctor: [
    probe('tool-here', 'local'),
    probe('per-host', 'host'),
    probe('per-target', 'target'),
    probe('broken', 'target', () => {
      throw new RemoteError('the thing answered\nwith two lines');
    }),
  ],
};
const registry = { drivers: new Map([[driver.id, doctorDriver]]), profiles: new Map([[profile.id, profile]]) };

/** A host whose sshd does not answer. */
const down: RemoteHost = {
  target: { name: 'downhost', address: '10.0.0.9', port: 22, user: 'root' },
  exec: () => Promise.reject(new RemoteError('downhost: connect ETIMEDOUT 10.0.0.9:22')),
  stream: () => Promise.reject(new Error('no')),
  close: async () => {},
  stallTimeoutMs: 60_000,
};

let ws: Workspace;
let targets: Target[];

beforeAll(async () => {
  const config = `stateDir: ${root}/state
services:
  bot:
    driver: shell
    profile: boost-bot
    environments:
      prod: { inventory: inventory.yml, host: bothost }
      alpha: { inventory: inventory.yml, host: bothost }
      stage: { inventory: inventory.yml, host: downhost }
`;
  writeFileSync(path.join(root, 'coopctl.yaml'), config);
  const hosts = ['bothost', 'downhost'].map((h) => `    ${h}:\n      ansible_host: 127.0.0.1\n      bot_dir: ${root}`);
  writeFileSync(path.join(root, 'inventory.yml'), `all:\n  hosts:\n${hosts.join('\n')}\n`);
  const loaded = parseConfigText(config, path.join(root, 'coopctl.yaml'), configSchemaFor([driver.configSchema]));
  ws = new Workspace(loaded, new ExecaRunner(false), registry);
  targets = (await doctorTargets(ws, {})).map((t) => ({
    ...t,
    remote: t.host.name === 'downhost' ? down : new LocalHost(),
  }));
});

describe('coopctl doctor, its engine', () => {
  it('runs each probe once for what it covers; one that throws says what it could not tell', async () => {
    ran.length = 0;
    const report = await runDoctor(ws, ws.runner, targets);
    expect(ran.filter((r) => !r.startsWith('broken')).sort()).toEqual([
      'per-host bothost prod,alpha',
      'per-target bothost alpha',
      'per-target bothost prod',
      'tool-here bothost prod,alpha,stage',
    ]);
    const bot = report.findings.filter((f) => f.host === 'bothost');
    expect(bot[0]).toMatchObject({ id: 'ssh', status: 'ok' });
    expect(bot.filter((f) => f.id === 'broken')).toEqual([
      expect.objectContaining({ subject: 'bot/prod', status: 'unknown', found: 'the thing answered' }),
      expect.objectContaining({ subject: 'bot/alpha', status: 'unknown', found: 'the thing answered' }),
    ]);
    expect(report.findings[0]).toMatchObject({ host: 'local', id: 'tool-here' });
  });

  it('a host that does not answer is one finding, with the SSH error, and none of its probes run', async () => {
    ran.length = 0;
    const report = await runDoctor(ws, ws.runner, targets);
    const downhost = report.findings.filter((f) => f.host === 'downhost');
    expect(downhost).toHaveLength(1);
    expect(downhost[0]).toMatchObject({ id: 'ssh', status: 'fail', found: 'downhost: connect ETIMEDOUT 10.0.0.9:22' });
    expect(downhost[0].action).toMatch(/the \d+ other probes of this host were not run/);
    expect(ran.some((r) => r.includes('downhost'))).toBe(false);
    expect(report.ok).toBe(false);
  });
});
