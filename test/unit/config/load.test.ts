import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/kernel/errors.js';
import { configSchema } from '../../../src/operations/registry.js';

const FILE = `${process.cwd()}/coopctl.yaml`;

const VALID = `services:
  mastodon:
    driver: ansible
    playbook: playbooks/mastodon.yml
    versions: { type: git, url: https://github.com/mastodon/mastodon.git }
    environments:
      prod:
        inventory: inventories/prod
        host: rhizome
        health: { url: "https://social.coop" }
`;

function errorOf(text: string): ConfigError {
  try {
    parseConfigText(text, FILE, configSchema());
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('config loading', () => {
  it('applies defaults to a minimal valid file', () => {
    const c = parseConfigText(VALID, FILE, configSchema()).config;
    expect(c.ssh.connectTimeout).toBe(15_000);
    expect(c.stateDir).toBe('/var/lib/coopctl');
    const svc = c.services.mastodon;
    expect(svc.driver).toBe('ansible');
    // the database name is the profile's default, filled in when the target is resolved
    expect(svc.database).toMatchObject({ user: 'postgres', container: 'db' });
    expect(svc.database?.name).toBeUndefined();
    expect(svc.environments.prod.health?.timeout).toBe(60_000);
    expect(c.backup.retention).toEqual({ keepLast: 7, keepDailyDays: 30 });
  });

  it('database.engine is postgres unless it says mariadb; another engine is an error at its line', () => {
    const withDb = (engine: string) =>
      VALID.replace('    environments:\n', `    database: { engine: ${engine}, name: wiki }\n    environments:\n`);
    expect(
      parseConfigText(
        VALID.replace('    environments:\n', '    database: {}\n    environments:\n'),
        FILE,
        configSchema(),
      ).config.services.mastodon.database?.engine,
    ).toBe('postgres');
    expect(parseConfigText(withDb('mariadb'), FILE, configSchema()).config.services.mastodon.database?.engine).toBe(
      'mariadb',
    );
    const e = errorOf(withDb('mysql'));
    expect(e.exitCode).toBe(2);
    expect(e.message).toMatch(/^coopctl\.yaml:6 services\.mastodon\.database\.engine: .*"postgres".*"mariadb"/);
  });

  it('names file, line and column of a YAML syntax error', () => {
    const e = errorOf('services:\n  mastodon: [\n');
    expect(e.message).toMatch(/^coopctl\.yaml:\d+:\d+ YAML syntax error/);
    expect(e.exitCode).toBe(2);
  });

  it('reports an unknown key with its own line and full path', () => {
    const e = errorOf(VALID.replace('        host: rhizome\n', '        host: rhizome\n        hots: x\n'));
    expect(e.message).toBe('coopctl.yaml:10 services.mastodon.environments.prod.hots: unknown key');
  });

  it('refuses a secret written as a value', () => {
    const text = `${VALID}backup:\n  stores:\n    s:\n      type: s3\n      bucket: abc\n      accessKeyId: AKIAEXAMPLE\n      secretAccessKey: { pass: x/y }\n`;
    const e = errorOf(text);
    expect(e.message).toContain('coopctl.yaml:16 backup.stores.s.accessKeyId: a secret must be a reference');
    expect(e.message).not.toContain('AKIAEXAMPLE');
  });

  it('names missing required keys and bad durations', () => {
    const e = errorOf(
      VALID.replace('        host: rhizome\n', '').replace(
        'health: { url: "https://social.coop" }',
        'health: { url: "https://social.coop", timeout: soon }',
      ),
    );
    expect(e.message).toContain('services.mastodon.environments.prod.host: is required');
    expect(e.message).toMatch(
      /coopctl\.yaml:9 services\.mastodon\.environments\.prod\.health\.timeout: "soon" is not a duration/,
    );
  });

  it('a timeout longer than a timer can wait, or a soak past ten years, is an error at its line', () => {
    const e = errorOf(
      VALID.replace(
        'health: { url: "https://social.coop" }',
        'health: { url: "https://social.coop", timeout: 9999999h }',
      ),
    );
    expect(e.message).toMatch(
      /coopctl\.yaml:10 services\.mastodon\.environments\.prod\.health\.timeout: "9999999h" is longer than a timer can wait/,
    );
    expect(errorOf(`${VALID}ssh: { commandTimeout: .inf }\n`).message).toMatch(
      /coopctl\.yaml:11 ssh\.commandTimeout: /,
    );
    expect(errorOf(`${VALID}ssh: { connectTimeout: -5 }\n`).message).toMatch(
      /ssh\.connectTimeout: "-5" is not a duration/,
    );
    const soak = (value: string) =>
      `${VALID.replace('    driver: ansible\n', `    driver: ansible\n    soak: ${value}\n`)}`;
    expect(parseConfigText(soak('30d'), FILE, configSchema()).config.services.mastodon.soak).toBe(30 * 86_400_000);
    expect(errorOf(soak('99999999999999h')).message).toMatch(
      /services\.mastodon\.soak: "99999999999999h" is longer than ten years/,
    );
  });

  it('rejects an unknown driver', () => {
    const e = errorOf(VALID.replace('driver: ansible', 'driver: kubernetes'));
    expect(e.message).toMatch(/coopctl\.yaml:3 services\.mastodon\.driver: /);
  });

  it('backup.retention.leftovers is a duration; a bad one is named with its line and path', () => {
    const config = (value: string) =>
      parseConfigText(`${VALID}backup:\n  retention:\n    leftovers: ${value}\n`, FILE, configSchema()).config;
    expect(config('3d').backup.retention.leftovers).toBe(3 * 86_400_000);
    expect(config('0s').backup.retention.leftovers).toBe(0);
    expect(errorOf(`${VALID}backup:\n  retention:\n    leftovers: soon\n`).message).toMatch(
      /^coopctl\.yaml:13 backup\.retention\.leftovers: "soon" is not a duration \(try 30s, 5m, 1h\)/,
    );
  });
  it('volumes: of an abra app are volume names of its compose file; a bad or repeated one is named with its line', () => {
    const app = (volumes: string) => `services:
  wiki:
    driver: abra
    recipe: mediawiki
    volumes: ${volumes}
    environments:
      prod: { inventory: inventories/coopcloud, host: hypha, server: hypha.social.coop, domain: wiki.social.coop }
`;
    const c = parseConfigText(app('[mediawiki-images, upload-data]'), FILE, configSchema()).config;
    expect(c.services.wiki.volumes).toEqual(['mediawiki-images', 'upload-data']);
    for (const bad of ['["../etc"]', '["images; rm -rf /"]', '[-images]', 'images']) {
      const e = errorOf(app(bad));
      expect(e.exitCode).toBe(2);
      expect(e.message).toMatch(/^coopctl\.yaml:5 services\.wiki\.volumes(\[0\])?: /);
    }
    expect(errorOf(app('[images, images]')).message).toMatch(
      /^coopctl\.yaml:5 services\.wiki\.volumes: names a volume twice/,
    );
  });
});
