import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBytes } from '../../src/kernel/validate.js';
import { json } from '../helpers/cli.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';

/**
 * `coopctl doctor` on the sandbox: every probe shown, read-only, and a host that does not answer or a host without
 * the backup tools named as such.
 */
interface Finding {
  id: string;
  host: string;
  subject: string;
  status: 'ok' | 'warn' | 'fail' | 'unknown';
  found: string;
  assumes: string;
  action: string;
}

const LOCAL = ['ansible', 'abra', 'abra-flags', 'abra-dir', 'abra-servers'];
const EVERY_HOST = ['ssh', 'tool:docker', 'tool:zstd', 'tool:age', 'tool:rclone', 'tool:sudo', 'postgresql'];
const MASTODON = [
  ...EVERY_HOST,
  'tool:docker-compose',
  'tool:python3',
  'instance-api',
  'domain',
  'redis',
  'verification-requests',
];
const HYPHA = [...EVERY_HOST, 'backup-bot-two', 'abra-app', 'database-image', 'volumes'];

let sb: TestSandbox;

beforeAll(async () => {
  sb = await startSandbox();
}, 600_000);

afterAll(async () => {
  await sb?.down();
});

/** What the hosts and abra keep (state dirs, data dirs, backups, swarm state, app configs), with sizes and mtimes. */
function fingerprint(): string {
  // PostgreSQL's own files, logs and pid files move without anyone changing anything
  const find = ['hosts', 'abra', '-type', 'f', '-not', '-path', '*/pg/*', '-not', '-path', '*/log/*'];
  const args = [...find, '-not', '-name', '*.log', '-not', '-name', '*.pid', '-printf', '%p %s %T@\n'];
  return execFileSync('find', args, { cwd: sb.dir, encoding: 'utf8' }).split('\n').sort().join('\n');
}

const ids = (findings: Finding[], host: string) => [
  ...new Set(findings.filter((f) => f.host === host).map((f) => f.id)),
];

describe('coopctl doctor', () => {
  it('on the sandbox: exit 0, every probe of this machine and of each host shown, nothing changed', async () => {
    const before = fingerprint();
    const text = await sb.run(['doctor']);
    expect(text.code, text.stderr).toBe(0);
    for (const heading of ['# coopctl doctor', '## this machine', '## alpha', '## prod', '## hypha'])
      expect(text.stdout).toContain(heading);
    expect(text.stdout).toMatch(/\d+ ok, \d+ warn, 0 fail, \d+ unknown: nothing fails/);
    expect(text.stdout).not.toMatch(/\u001b\[/);

    const r = await sb.run(['--json', 'doctor']);
    expect(r.code, r.stderr).toBe(0);
    const doc = json<{ ok: boolean; findings: Finding[] }>(r);
    expect(doc.ok).toBe(true);
    expect(ids(doc.findings, 'local').sort()).toEqual([...LOCAL].sort());
    expect(ids(doc.findings, 'alpha').sort()).toEqual([...MASTODON].sort());
    expect(ids(doc.findings, 'prod').sort()).toEqual([...MASTODON].sort());
    expect(ids(doc.findings, 'hypha').sort()).toEqual([...HYPHA].sort());
    for (const f of doc.findings) {
      expect(Object.keys(f).sort()).toEqual(['action', 'assumes', 'found', 'host', 'id', 'status', 'subject']);
      expect(f.status, `${f.host} ${f.id}: ${f.found}`).not.toBe('fail');
      // every finding in the text report too
      expect(text.stdout).toContain(`${f.subject} (${f.id}): ${f.found}`);
    }
    const one = (host: string, id: string, subject?: string) =>
      doc.findings.find((f) => f.host === host && f.id === id && (!subject || f.subject === subject))!;
    // the double's --help lists every flag coopctl passes, for each of the 10 commands (backup download included)
    const flags = doc.findings.filter((f) => f.id === 'abra-flags');
    expect(flags).toHaveLength(10);
    expect(flags.every((f) => f.status === 'ok')).toBe(true);
    expect(one('local', 'abra').found).toContain('abra version 0.13.0-beta-06a57de');
    expect(one('alpha', 'ssh').found).toContain('sudo -n to root works');
    expect(one('alpha', 'tool:sudo').status).toBe('ok');
    expect(one('alpha', 'instance-api').found).toBe('version 4.4.7');
    expect(one('alpha', 'domain').found).toContain('LOCAL_DOMAIN=alpha.sandbox');
    expect(one('prod', 'postgresql').found).toMatch(/server PostgreSQL 15\.\d+; pg_dump 15\.\d+ in db/);
    expect(one('prod', 'redis').found).toMatch(/^Redis \d+\.\d+/);
    expect(one('prod', 'tool:rclone').found).toMatch(/^\d+\.\d+\.\d+/);
    // hypha as production's: no backup-bot-two, which no app needs here (coopctl dumps each database)
    expect(one('hypha', 'backup-bot-two')).toMatchObject({ status: 'ok', found: 'no swarm service of backup-bot-two' });
    expect(one('hypha', 'database-image', 'wiki/prod').found).toBe('wiki_sandbox_db: mariadb:10.11 → MariaDB 10.11');
    expect(one('hypha', 'abra-app', 'wiki/alpha').found).toBe('wiki-alpha.sandbox deployed at 1.1.0+1.42.1');
    const volume = one('hypha', 'volumes', 'wiki/prod').found;
    expect(volume).toMatch(
      /^wiki_sandbox_mediawiki-images: \/.*\/var\/lib\/docker\/volumes\/wiki_sandbox_mediawiki-images\/_data, /,
    );
    // its size as du counts the files the world wrote there
    const mountpoint = volume.slice(volume.indexOf(' ') + 1, volume.lastIndexOf(', '));
    const bytes = Number(execFileSync('du', ['-sb', mountpoint], { encoding: 'utf8' }).split('\t')[0]);
    expect(volume.slice(volume.lastIndexOf(', ') + 2)).toBe(formatBytes(bytes));

    const alpha = json<{ findings: Finding[] }>(await sb.run(['--json', 'doctor', 'mastodon', '--env', 'alpha']));
    expect([...new Set(alpha.findings.map((f) => f.host))].sort()).toEqual(['alpha', 'local']);
    expect(ids(alpha.findings, 'local')).toEqual(['ansible']);

    expect(fingerprint()).toBe(before);
  });

  it('bad input exits 2 before anything runs remotely', async () => {
    const r = await sb.run(['doctor', 'nosuch']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown service "nosuch"/);
  });

  it('names a host that does not answer and a host without the backup tools; exit 3, nothing changed', async () => {
    expect((await sb.fault('hypha', 'host-down')).code).toBe(0);
    expect((await sb.fault('prod', 'backup-tools-missing')).code).toBe(0);
    try {
      const before = fingerprint();
      const r = await sb.run(['--json', 'doctor']);
      expect(r.code, r.stderr).toBe(3);
      const doc = json<{ ok: boolean; findings: Finding[] }>(r);
      expect(doc.ok).toBe(false);
      // one finding for the host that does not answer, with the SSH error
      const hypha = doc.findings.filter((f) => f.host === 'hypha');
      expect(hypha).toHaveLength(1);
      expect(hypha[0]).toMatchObject({ id: 'ssh', status: 'fail' });
      expect(hypha[0].found).toMatch(/hypha|timed out|ECONN|connect/i);
      expect(hypha[0].action).toMatch(/other probes of this host were not run/);
      // prod answers, without zstd, age and rclone: each named, with what needs it
      for (const tool of ['zstd', 'age', 'rclone']) {
        const f = doc.findings.find((x) => x.host === 'prod' && x.id === `tool:${tool}`)!;
        expect(f).toMatchObject({ status: 'fail', found: `${tool} is not on PATH on prod` });
        expect(f.assumes).toContain('backups of mastodon/prod');
        expect(f.action).toContain(`apt-get install ${tool} on prod`);
      }
      const failing = doc.findings.filter((f) => f.status === 'fail').map((f) => `${f.host} ${f.id}`);
      expect(failing.sort()).toEqual(['hypha ssh', 'prod tool:age', 'prod tool:rclone', 'prod tool:zstd']);
      // alpha is untouched by both faults; this machine's abra answers without hypha
      expect(doc.findings.filter((f) => f.host === 'alpha').every((f) => f.status === 'ok')).toBe(true);
      expect(doc.findings.find((f) => f.id === 'abra')!.status).toBe('ok');

      const text = await sb.run(['doctor']);
      expect(text.code).toBe(3);
      expect(text.stdout).toContain('**FAIL** zstd (tool:zstd): zstd is not on PATH on prod');
      expect(text.stdout).toMatch(/## hypha\n- \*\*FAIL\*\* root@hypha \(ssh\)/);
      expect(text.stdout).toContain(', 4 fail, ');
      expect(fingerprint()).toBe(before);
    } finally {
      await sb.fault('--clear');
    }
  }, 240_000);
});
