import { describe, expect, it } from 'vitest';
import { parsePgDumpVersion } from '../../../src/checks/doctor/database.js';
import { readToolAnswer, toolVersionCommand } from '../../../src/checks/doctor/tools.js';
import { renderDoctorReport } from '../../../src/cli/commands/doctor.js';
import { databaseImage, databaseImageVerdict, helpFlags, helpVerdict } from '../../../src/drivers/abra/doctor.js';
import { parseAnsibleConfigFile } from '../../../src/drivers/ansible/doctor.js';
import type { DoctorReport } from '../../../src/operations/doctor.js';
import { cobraHelp } from '../../doubles/abra/help.js';

describe('tool versions on a host', () => {
  const rclone = { version: /rclone v(\d+\.\d+\.\d+\S*)/ };

  it('runs the version command only when the program is on PATH, as one argument array', () => {
    expect(toolVersionCommand({ bin: 'rclone', versionArgv: ['rclone', 'version'] })).toEqual([
      'sh',
      '-c',
      'command -v "$0" >/dev/null 2>&1 || exit 127; exec "$@" 2>&1',
      'rclone',
      'rclone',
      'version',
    ]);
  });

  it('tells a version, a missing program, a failing one and output it cannot read', () => {
    expect(readToolAnswer(rclone, 0, 'rclone v1.60.1-DEV\n- os/version: debian 12.11')).toEqual({
      kind: 'version',
      version: '1.60.1-DEV',
      line: 'rclone v1.60.1-DEV',
    });
    expect(readToolAnswer(rclone, 127, '')).toEqual({ kind: 'missing' });
    expect(readToolAnswer(rclone, 1, 'Segmentation fault\n')).toEqual({
      kind: 'failed',
      exitCode: 1,
      line: 'Segmentation fault',
    });
    // unreadable output is reported raw, its control characters made visible
    expect(readToolAnswer(rclone, 0, '\u001b[31mrclone (devel)\u001b[0m')).toEqual({
      kind: 'unparsed',
      line: '\\x1b[31mrclone (devel)\\x1b[0m',
    });
  });

  it('reads pg_dump and ansible as they print themselves', () => {
    expect(parsePgDumpVersion('pg_dump (PostgreSQL) 15.10 (Debian 15.10-1.pgdg120+1)\n')).toBe('15.10');
    expect(parsePgDumpVersion('pg_dump (PostgreSQL) 17beta1')).toBe('17');
    expect(parsePgDumpVersion('bash: pg_dump: not found')).toBeUndefined();
    const ansible = 'ansible-playbook [core 2.14.18]\n  config file = /srv/ops/playbooks/ansible.cfg\n';
    expect(parseAnsibleConfigFile(ansible)).toBe('/srv/ops/playbooks/ansible.cfg');
    expect(parseAnsibleConfigFile('ansible-playbook [core 2.14.18]\n  config file = None\n')).toBeNull();
    expect(parseAnsibleConfigFile('ansible-playbook 2.9.6\n')).toBeUndefined();
  });
});

describe('abra, read by doctor', () => {
  it("finds the flags of a cobra --help, the double's and the layout cobra and pflag print", () => {
    const help = cobraHelp(
      ['app', 'deploy'],
      '<domain> [version]',
      ['d'],
      [
        { short: 'f', long: 'force' },
        { short: 'C', long: 'chaos' },
        { short: 's', long: 'server', value: true },
      ],
    );
    expect([...helpFlags(help)].sort()).toEqual(
      ['-C', '--chaos', '-d', '--debug', '-f', '--force', '-h', '--help', '-n', '--no-input']
        .concat(['-o', '--offline', '-s', '--server'])
        .sort(),
    );
    // a flag without a shorthand, and a usage line that mentions a flag: only flag lines count
    const text = 'Usage:\n  abra app ls [-S] [flags]\n\nFlags:\n      --no-tty   no tty\n  -S, --status   status\n';
    expect([...helpFlags(text)].sort()).toEqual(['--no-tty', '--status', '-S']);
    expect(helpFlags('abra (double) — stand-in\n\nUsage:\n  abra app upgrade DOMAIN [-n] [-c]').size).toBe(0);
  });

  it('says whether --help lists every flag coopctl passes, or shows another command (cobra: the parent)', () => {
    const upgrade = { words: ['app', 'upgrade'], flags: ['-n', '-c'] };
    const flags = [{ short: 'c', long: 'no-converge-checks' }];
    expect(helpVerdict(upgrade, cobraHelp(['app', 'upgrade'], '<domain> [version]', ['up'], flags))).toMatchObject({
      status: 'ok',
      found: '--help lists -n, -c',
    });
    expect(helpVerdict(upgrade, cobraHelp(['app', 'upgrade'], '<domain>', [], []))).toMatchObject({
      status: 'fail',
      found: '--help lists no -c',
    });
    const parent = cobraHelp(['app'], '[command]', ['a'], []);
    expect(helpVerdict(upgrade, parent)).toMatchObject({
      status: 'fail',
      found: '`abra app upgrade --help` shows another command: abra app [command] [flags]',
    });
    expect(helpVerdict(upgrade, 'abra (double)\n\nUsage:\n  abra app upgrade DOMAIN [-n] [-c]')).toMatchObject({
      status: 'unknown',
    });
  });

  it.each([
    ['postgres:15', { engine: 'PostgreSQL', version: '15' }],
    ['postgres:16.4-alpine@sha256:0123abcd', { engine: 'PostgreSQL', version: '16.4' }],
    ['ghcr.io/baosystems/postgis:17-3.5', { engine: 'PostgreSQL', version: '17' }],
    ['mariadb:10.11', { engine: 'MariaDB', version: '10.11' }],
    ['registry:5000/library/mysql', { engine: 'MySQL' }],
    ['quay.io/keycloak/keycloak:25.0.6', undefined],
  ])('tells the engine of the database image %s', (image, want) => {
    expect(databaseImage(image)).toEqual(want);
  });
});

describe('the report', () => {
  const report: DoctorReport = {
    ok: false,
    findings: [
      {
        host: 'local',
        id: 'abra',
        subject: 'abra',
        status: 'ok',
        found: 'abra version 0.13.0',
        assumes: 'a',
        action: 'b',
      },
      {
        host: 'prod',
        id: 'tool:rclone',
        subject: 'rclone',
        status: 'fail',
        found: 'not on PATH',
        assumes: 'c',
        action: '',
      },
      { host: 'prod', id: 'redis', subject: 'mastodon/prod', status: 'unknown', found: '?', assumes: 'd', action: 'e' },
    ],
  };

  it('groups findings by host, this machine first, as Markdown to paste, with a verdict', () => {
    expect(renderDoctorReport(report)).toBe(
      [
        '# coopctl doctor',
        '',
        '## this machine',
        '- **ok** abra (abra): abra version 0.13.0',
        '  - assumes: a',
        '  - coopctl: b',
        '',
        '## prod',
        '- **FAIL** rclone (tool:rclone): not on PATH',
        '  - assumes: c',
        '- **unknown** mastodon/prod (redis): ?',
        '  - assumes: d',
        '  - coopctl: e',
        '',
        '1 ok, 0 warn, 1 fail, 1 unknown: something fails',
      ].join('\n'),
    );
  });
});

describe('database-image: the image of an app database service against database.engine', () => {
  const svc = 'wiki_social_coop_db';
  it('MariaDB named mariadb: ok, dumped with mariadb-dump', () => {
    const v = databaseImageVerdict(svc, 'mariadb:10.11', { name: 'mediawiki', engine: 'mariadb' });
    expect(v).toMatchObject({ status: 'ok', found: `${svc}: mariadb:10.11 → MariaDB 10.11` });
    expect(v.assumes).toContain('with mariadb-dump in wiki_social_coop_db: a MariaDB server');
  });
  it('a MariaDB image where coopctl.yaml says postgres (the default): fail, naming engine: mariadb', () => {
    const v = databaseImageVerdict(svc, 'mariadb:10.11', { name: 'mediawiki' });
    expect(v.status).toBe('fail');
    expect(v.action).toBe('backups fail: the image is MariaDB, not PostgreSQL: set database.engine: mariadb');
  });
  it('no database: and no such service: nothing to check', () => {
    expect(databaseImageVerdict(svc, undefined, undefined)).toMatchObject({ status: 'ok', action: 'nothing' });
    expect(databaseImageVerdict(svc, undefined, { name: 'x', engine: 'mariadb' }).status).toBe('fail');
  });
});
