import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summaryFlag, summaryMarkdown, writeSummary } from '../../../src/cli/summary.js';
import type { ServiceConfig } from '../../../src/config/schema.js';
import { foldRecord, type HistoryRecord } from '../../../src/history/records.js';
import { foldRejections } from '../../../src/history/rejections.js';
import { InputError } from '../../../src/kernel/errors.js';
import { promotionStep, soakOf } from '../../../src/operations/promote.js';
import { markRejected, rejectionFindings } from '../../../src/operations/rejections.js';
import type { ChangeOutcome, ChangePlan } from '../../../src/pipeline/change.js';

const svc = (promotion?: string[], soak?: number) =>
  ({ driver: 'ansible', promotion, soak, restoreOnFailure: 'auto', environments: {} }) as ServiceConfig;

function mark(operation: string, version: string, at: string, extra: Record<string, unknown> = {}): HistoryRecord {
  const id = `${at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${operation}-abcdef`;
  const fields = { service: 'mastodon', env: 'alpha', operation, operator: 'ana', version, ...extra };
  return foldRecord(id, [
    { at, status: 'pending', fields },
    { at, status: 'succeeded' },
  ])!;
}

describe('promotionStep: --from/--to along the chain', () => {
  it('defaults to the last environment, from the one before it', () => {
    expect(promotionStep('m', svc(['alpha', 'prod']), {})).toEqual({ from: 'alpha', to: 'prod' });
    expect(promotionStep('m', svc(['dev', 'alpha', 'prod']), { to: 'alpha' })).toEqual({ from: 'dev', to: 'alpha' });
  });

  it('no chain, an env outside it, or envs not adjacent: bad input naming the flag', () => {
    expect(() => promotionStep('bonfire', svc(undefined), {})).toThrow(/bonfire has no promotion chain/);
    expect(() => promotionStep('m', svc(['alpha', 'prod']), { to: 'staging' })).toThrow(/^--to: staging/);
    expect(() => promotionStep('m', svc(['alpha', 'prod']), { from: 'qa' })).toThrow(/^--from: qa/);
    expect(() => promotionStep('m', svc(['dev', 'alpha', 'prod']), { from: 'dev' })).toThrow(
      /^--from: dev does not come right before prod/,
    );
    expect(() => promotionStep('m', svc(['alpha', 'prod']), { to: 'alpha' })).toThrow(InputError);
  });

  it('the soak: --soak, else the service soak:, else 24h; 0 is a soak of its own', () => {
    expect(soakOf(svc(['a', 'b']), undefined)).toBe(24 * 3_600_000);
    expect(soakOf(svc(['a', 'b'], 60_000), undefined)).toBe(60_000);
    expect(soakOf(svc(['a', 'b'], 60_000), 0)).toBe(0);
  });
});

describe('foldRejections: the rejections in force, from records of every host', () => {
  it('the later record wins; repeats from several hosts change nothing; failed records do not count', () => {
    const records = [
      mark('reject', '4.4.8', '2026-11-01T10:00:00.000Z', { reason: 'breaks the relay' }),
      mark('unreject', '4.4.8', '2026-11-02T10:00:00.000Z'),
      mark('reject', '4.5.0', '2026-11-03T10:00:00.000Z', { reason: 'slow timelines' }),
      mark('reject', '4.5.0', '2026-11-03T10:00:00.000Z', { reason: 'slow timelines', env: 'prod' }),
      mark('upgrade', '4.5.1', '2026-11-04T10:00:00.000Z'),
    ];
    const failed = foldRecord('20261105T100000Z-reject-000000', [
      { at: '2026-11-05T10:00:00.000Z', status: 'pending', fields: { operation: 'reject', version: '4.5.1' } },
      { at: '2026-11-05T10:00:01.000Z', status: 'failed' },
    ])!;
    const r = foldRejections([...records.reverse(), failed]);
    expect([...r.keys()]).toEqual(['4.5.0']);
    expect(r.get('4.5.0')).toMatchObject({ reason: 'slow timelines', operator: 'ana' });
  });
});

describe('--summary FILE', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'coopctl-summary-'));

  it('a directory that does not exist, or a directory as the file: bad input naming the flag', () => {
    expect(() => summaryFlag('nope/mr.md', dir)).toThrow(/^--summary: .* is not an existing directory/);
    expect(() => summaryFlag('.', dir)).toThrow(/^--summary: \. is not a file/);
    expect(summaryFlag('mr.md', dir)).toBe(path.join(dir, 'mr.md'));
  });

  it('is written 0600, replacing a file there before', () => {
    const f = path.join(dir, 'old.md');
    writeFileSync(f, 'old', { mode: 0o644 });
    writeSummary(f, '### new');
    expect(readFileSync(f, 'utf8')).toBe('### new\n');
    expect(statSync(f).mode & 0o777).toBe(0o600);
  });

  it('carries from → to, release note links, checks, backup, verification, operator, promotion and patches', () => {
    const record = foldRecord('20261129T220000Z-promote-abcdef', [
      {
        at: '2026-11-29T22:00:00.000Z',
        status: 'pending',
        fields: {
          service: 'mastodon',
          env: 'prod',
          operation: 'promote',
          operator: 'ana',
          from: '4.4.7',
          to: '4.4.8',
          backupId: 'mastodon-prod-1',
          promotedFrom: '20261128T100000Z-upgrade-123456',
          promotion: { from: 'alpha', soak: '24h0m' },
          patchSet: { digest: 'd1g35t', patches: [{ file: 'patches/post-length.patch', sha256: 'abc' }] },
          checks: [{ id: 'disk', status: 'pass', message: 'ok' }],
          verification: { ok: true, checks: [{ ok: true, message: 'version 4.4.8' }] },
        },
      },
      { at: '2026-11-29T22:03:00.000Z', status: 'succeeded' },
    ])!;
    const outcome = { ok: true, status: 'succeeded', changed: true, state: 'runs 4.4.8', record } as ChangeOutcome;
    const notes = [
      { version: '4.4.8', security: false, text: '', url: 'https://github.com/mastodon/mastodon/releases/tag/v4.4.8' },
      { version: '1.1.1+1.42.3', security: false, text: '', url: 'mediawiki: release/1.1.1+1.42.3' },
    ];
    const plan = { from: '4.4.7', to: '4.4.8', host: 'prod', notes } as unknown as ChangePlan;
    const md = summaryMarkdown(outcome, plan);
    expect(md).toContain('### coopctl promote mastodon/prod: 4.4.7 → 4.4.8 — succeeded');
    expect(md).toContain('[4.4.8](https://github.com/mastodon/mastodon/releases/tag/v4.4.8)');
    expect(md).toContain('1.1.1+1.42.3 (`mediawiki: release/1.1.1+1.42.3`)');
    expect(md).toContain('operator ana');
    expect(md).toContain('- checks: ✓ disk');
    expect(md).toContain('`mastodon-prod-1`');
    expect(md).toContain('verification: healthy — ✓ version 4.4.8');
    expect(md).toContain('promoted from alpha: record `20261128T100000Z-upgrade-123456` after a soak of 24h0m');
    expect(md).toContain('patches: digest `d1g35t`: `patches/post-length.patch` (sha256 abc)');
  });
});

describe('a rejected version in the upgrade picker and plan', () => {
  const rejected = foldRejections([
    mark('reject', '4.4.8', '2026-11-01T10:00:00.000Z', { reason: 'breaks the relay' }),
  ]);
  const suggestion = (version: string) => ({
    version,
    allowed: true,
    reason: 'patch',
    prerelease: false,
    security: false,
  });

  it('is offered as refused, with the reason; the others as they were', () => {
    const choice = {
      current: '4.4.7',
      catalog: { versions: [], warnings: [] },
      suggestions: ['4.4.8', '4.5.0'].map(suggestion),
    };
    const marked = markRejected(choice, rejected).suggestions;
    expect(marked[0]).toMatchObject({ version: '4.4.8', allowed: false });
    expect(marked[0].reason).toMatch(/^rejected by ana on 2026-11-01: breaks the relay$/);
    expect(marked[1]).toEqual(suggestion('4.5.0'));
  });

  it('--to it: a failing finding (the plan is refused, exit 3) naming unreject as the way out', () => {
    expect(rejectionFindings('mastodon', '4.4.8', rejected)).toEqual([
      expect.objectContaining({ id: 'rejected', level: 'fail', fix: 'coopctl unreject mastodon 4.4.8 --reason TEXT' }),
    ]);
    expect(rejectionFindings('mastodon', '4.5.0', rejected)).toEqual([]);
  });
});
