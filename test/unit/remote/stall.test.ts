import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/kernel/errors.js';
import { configSchema } from '../../../src/operations/registry.js';
import { ProgressWatch } from '../../../src/remote/progress.js';

/** Long data commands are bounded by progress (ssh.stallTimeout), not by ssh.commandTimeout. */
describe('ProgressWatch', () => {
  it('counts only a change as progress: the same count reported every second is a stall', () => {
    let now = 1_000;
    const watch = new ProgressWatch(() => now);
    now += 5_000;
    expect(watch.idleMs()).toBe(5_000); // nothing seen yet: idle since the command began
    watch.saw(100);
    expect(watch.idleMs()).toBe(0);
    for (let i = 0; i < 10; i++) {
      now += 1_000;
      watch.saw(100);
    }
    expect(watch.idleMs()).toBe(10_000);
    watch.saw('100 1'); // a result line, or another counter of the server, moved
    expect(watch.idleMs()).toBe(0);
  });
});

describe('ssh.stallTimeout in coopctl.yaml', () => {
  const file = `${process.cwd()}/coopctl.yaml`;
  const text = (ssh: string) =>
    `${ssh}services:
  mastodon:
    driver: ansible
    playbook: playbooks/mastodon.yml
    versions: { type: git, url: https://github.com/mastodon/mastodon.git }
    environments:
      prod: { inventory: inventories/prod, host: rhizome, health: { url: "https://social.coop" } }
`;

  it('defaults to 10 minutes and takes a duration', () => {
    expect(parseConfigText(text(''), file, configSchema()).config.ssh.stallTimeout).toBe(600_000);
    const c = parseConfigText(text('ssh: { stallTimeout: 2h }\n'), file, configSchema()).config;
    expect(c.ssh.stallTimeout).toBe(7_200_000);
  });

  it('refuses what is no duration, or less than a second, naming the line (exit 2)', () => {
    for (const [value, why] of [
      ['soon', '"soon" is not a duration'],
      ['0s', 'must be at least 1s'],
    ]) {
      let err: unknown;
      try {
        parseConfigText(text(`ssh:\n  stallTimeout: ${value}\n`), file, configSchema());
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain(`coopctl.yaml:2 ssh.stallTimeout: ${why}`);
      expect((err as ConfigError).exitCode).toBe(2);
    }
  });
});
