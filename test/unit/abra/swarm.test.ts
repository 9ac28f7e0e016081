import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withRecipeCheckout } from '../../../src/drivers/abra/checkoutLock.js';
import { backupDumpFiles, convergeTimeoutSeconds } from '../../../src/drivers/abra/recipeLabels.js';
import {
  convergence,
  parseServiceList,
  scaleCommand,
  serviceListCommand,
  stackName,
} from '../../../src/drivers/abra/swarm.js';
import { dbCommand } from '../../../src/remote/compose.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'coopctl-swarm-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('docker service ls', () => {
  it('builds argument arrays for the stack', () => {
    expect(stackName('bonfire.social.coop')).toBe('bonfire_social_coop');
    expect(serviceListCommand('bonfire_social_coop')).toEqual([
      'docker',
      'service',
      'ls',
      '--filter',
      'label=com.docker.stack.namespace=bonfire_social_coop',
      '--format',
      '{{json .}}',
    ]);
    expect(scaleCommand('bonfire_social_coop_app', 0)).toEqual([
      'docker',
      'service',
      'scale',
      'bonfire_social_coop_app=0',
    ]);
  });

  it('reads replicas, including the "(max 1 per node)" form, and says what lags', () => {
    const out = [
      '{"ID":"k2l","Image":"bonfirenetworks/bonfire:1.0.6-social-amd64","Mode":"replicated","Name":"b_app","Ports":"","Replicas":"0/1"}',
      '{"ID":"x9y","Image":"postgis:17","Mode":"replicated","Name":"b_db","Ports":"","Replicas":"1/1 (max 1 per node)"}',
      '',
    ].join('\n');
    const services = parseServiceList(out);
    expect(services.map((s) => [s.name, s.running, s.desired])).toEqual([
      ['b_app', 0, 1],
      ['b_db', 1, 1],
    ]);
    expect(convergence(services)).toEqual({ converged: false, message: 'not converged: b_app 0/1' });
    expect(convergence(services.map((s) => ({ ...s, running: s.desired }))).converged).toBe(true);
    expect(convergence([{ name: 'b_app', running: 0, desired: 0 }]).message).toContain('b_app scaled to 0');
    expect(convergence([]).converged).toBe(false);
  });

  it('refuses output that is not docker JSON', () => {
    expect(() => parseServiceList('ID NAME MODE REPLICAS\nabc b_app replicated 1/1')).toThrow(/not a JSON line/);
    expect(() => parseServiceList('{"Name":"b_app"}')).toThrow(/no Name or Replicas/);
  });
});

describe('the database of a swarm service', () => {
  it('runs the tool in the running task of `<stack>_db`, the service name a positional argument', () => {
    const bin = path.join(tmp, 'bin');
    mkdirSync(bin, { recursive: true });
    // a docker that knows one running task of one service, and runs `exec -i ID argv` as argv
    writeFileSync(
      path.join(bin, 'docker'),
      [
        '#!/bin/bash',
        'if [ "$1" = ps ]; then [ "$4" = "label=com.docker.swarm.service.name=b_x_db" ] && echo 0123456789ab; exit 0; fi',
        'if [ "$1" = exec ] && [ "$2" = -i ] && [ "$3" = 0123456789ab ]; then shift 3; exec "$@"; fi',
        'echo "unexpected: $*" >&2; exit 1',
      ].join('\n'),
    );
    chmodSync(path.join(bin, 'docker'), 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
    const argv = dbCommand({ swarmService: 'b_x_db' }, ['printf', '%s|', "it's; $(rm -rf /)"]);
    expect(execFileSync(argv[0], argv.slice(1), { env, encoding: 'utf8' })).toBe("it's; $(rm -rf /)|");
    const missing = dbCommand({ swarmService: 'other_db' }, ['true']);
    const r = spawnSync(missing[0], missing.slice(1), { env, encoding: 'utf8' });
    expect(r.status).toBe(125);
    expect(r.stderr).toContain('no running container of swarm service other_db');
  });
});

describe('recipe labels', () => {
  const compose = [
    'services:',
    '  app:',
    '    deploy:',
    '      labels:',
    '        - "coop-cloud.${STACK_NAME}.timeout=${TIMEOUT:-300}"',
    '  db:',
    '    deploy:',
    '      labels:',
    '        backupbot.backup.volumes.db-data.path: "backup.sql"',
  ].join('\n');

  it("reads the converge timeout, with the env's TIMEOUT over the default", () => {
    expect(convergeTimeoutSeconds(compose, {})).toBe(300);
    expect(convergeTimeoutSeconds(compose, { TIMEOUT: '20' })).toBe(20);
    expect(convergeTimeoutSeconds(compose, { TIMEOUT: 'soon' })).toBe(300);
    expect(convergeTimeoutSeconds('labels:\n  coop-cloud.${STACK_NAME}.timeout: 120\n', { TIMEOUT: '5' })).toBe(120);
    expect(convergeTimeoutSeconds('services: {}', {})).toBeUndefined();
  });

  it('names the dump files backupbot keeps', () => {
    expect(backupDumpFiles(compose)).toEqual(['backup.sql']);
    expect(backupDumpFiles('- "backupbot.backup.volumes.mariadb.path=dump.sql"')).toEqual(['dump.sql']);
  });
});

describe('the recipe checkout lock', () => {
  it('lets one abra operation at a time use a recipe; the other waits, then runs', async () => {
    const abraDir = path.join(tmp, 'abra');
    mkdirSync(path.join(abraDir, 'recipes'), { recursive: true });
    const order: string[] = [];
    const waits: string[] = [];
    let release!: () => void;
    const first = withRecipeCheckout({ abraDir, recipe: 'mediawiki', what: 'abra app upgrade wiki' }, async () => {
      order.push('first in');
      await new Promise<void>((r) => {
        release = r;
      });
      order.push('first out');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = withRecipeCheckout(
      {
        abraDir,
        recipe: 'mediawiki',
        what: 'abra app backup create wiki-alpha',
        onWait: (l) => waits.push(l),
        pollMs: 20,
      },
      async () => {
        order.push('second');
      },
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(order).toEqual(['first in']);
    expect(waits[0]).toMatch(/^waiting for abra app upgrade wiki \(pid \d+ on .+\) to leave recipe mediawiki$/);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first in', 'first out', 'second']);
    expect(existsSync(path.join(abraDir, 'recipes', '.mediawiki.coopctl-lock'))).toBe(false);
  });

  it('takes over the lock of a holder that died on this machine', async () => {
    const abraDir = path.join(tmp, 'abra2');
    mkdirSync(path.join(abraDir, 'recipes'), { recursive: true });
    const dead = spawnSync('true').pid!;
    const file = path.join(abraDir, 'recipes', '.bonfire.coopctl-lock');
    writeFileSync(file, JSON.stringify({ pid: dead, host: os.hostname(), what: 'abra app upgrade x', since: '' }));
    await expect(withRecipeCheckout({ abraDir, recipe: 'bonfire', what: 'y' }, async () => 'ran')).resolves.toBe('ran');
  });

  it('stops waiting when interrupted', async () => {
    const abraDir = path.join(tmp, 'abra3');
    mkdirSync(path.join(abraDir, 'recipes'), { recursive: true });
    const file = path.join(abraDir, 'recipes', '.keycloak.coopctl-lock');
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: os.hostname(), what: 'another run', since: '' }));
    const ac = new AbortController();
    const p = withRecipeCheckout(
      { abraDir, recipe: 'keycloak', what: 'z', signal: ac.signal, pollMs: 10 },
      async () => 1,
    );
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toThrow(/interrupted while waiting for recipe keycloak/);
    expect(existsSync(file)).toBe(true);
  });
});
