import { execa } from 'execa';
import { copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { coopctl, FIXTURE, fixtureCopy } from './cli.js';

/**
 * The rendered configuration, checked by the tools of Debian's packages themselves (prometheus: promtool,
 * prometheus-alertmanager: amtool, prometheus-blackbox-exporter). A missing tool fails the test: execa rejects.
 */
async function tool(bin: string, args: string[], cwd: string) {
  const r = await execa(bin, args, { cwd, reject: false, all: true });
  if (r.failed && (r as { code?: string }).code === 'ENOENT')
    throw new Error(`${bin} is not installed: see scripts/setup.sh`);
  return { code: r.exitCode, output: r.all ?? '' };
}

async function render(dir: string): Promise<string> {
  const out = path.join(dir, 'out');
  const r = await coopctl(['-c', path.join(dir, 'coopctl.yaml'), 'monitor', 'render', '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  copyFileSync(path.join(FIXTURE, 'rules.test.yml'), path.join(out, 'rules.test.yml'));
  return out;
}

interface RuleTest {
  alertname: string;
  exp_alerts: unknown[];
}

describe('the rendered monitoring configuration, checked by its own tools', () => {
  let out: string;
  beforeAll(async () => {
    out = await render(fixtureCopy());
  });

  it('promtool check config: prometheus.yml and the rule file it names', async () => {
    const r = await tool('promtool', ['check', 'config', 'prometheus.yml'], out);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS: 1 rule files found/);
  });

  it('promtool check rules', async () => {
    const r = await tool('promtool', ['check', 'rules', 'rules/coopctl.yml'], out);
    expect(r.code, r.output).toBe(0);
  });

  it('amtool check-config', async () => {
    const r = await tool('amtool', ['check-config', 'alertmanager.yml'], out);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/1 receivers/);
  });

  it('the blackbox exporter loads blackbox.yml (--config.check)', async () => {
    const r = await tool('prometheus-blackbox-exporter', ['--config.check', '--config.file=blackbox.yml'], out);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/Config file is ok/);
  });

  it('promtool test rules: every alert fires when it should and not before', async () => {
    const r = await tool('promtool', ['test', 'rules', 'rules.test.yml'], out);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/SUCCESS/);
  });

  it('each alert the rules define has a test where it fires and one where it does not', () => {
    const rules = parse(readFileSync(path.join(out, 'rules/coopctl.yml'), 'utf8')) as {
      groups: { rules: { alert?: string }[] }[];
    };
    const alerts = new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : []))));
    const tests = (
      parse(readFileSync(path.join(FIXTURE, 'rules.test.yml'), 'utf8')) as {
        tests: { alert_rule_test: RuleTest[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test);
    const missing = [...alerts].flatMap((a) => {
      const these = tests.filter((t) => t.alertname === a);
      return [
        ...(these.some((t) => t.exp_alerts.length > 0) ? [] : [`${a}: no test where it fires`]),
        ...(these.some((t) => t.exp_alerts.length === 0) ? [] : [`${a}: no test where it does not fire`]),
      ];
    });
    expect(missing).toEqual([]);
    expect(alerts.size).toBeGreaterThanOrEqual(14);
  });

  it('the rule tests hold the thresholds: rendered with others, they fail', async () => {
    const loose = await render(
      fixtureCopy((t) =>
        t.replace(
          '  probeInterval: 15s\n',
          '  probeInterval: 15s\n  thresholds: { diskFreeRatio: 0.01, backupAge: 2d }\n',
        ),
      ),
    );
    const r = await tool('promtool', ['test', 'rules', 'rules.test.yml'], loose);
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/alertname: DiskAlmostFull/);
    expect(r.output).toMatch(/alertname: BackupStale/);
  });
});
