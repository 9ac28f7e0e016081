import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestSandbox } from '../helpers/sandbox.js';
import { SandboxMastodon, useMastodonSandbox } from '../helpers/upgradeSandbox.js';

/**
 * Patch sets on the sandbox: the sandbox's config lists the repo's post-length patch for alpha only (as the repo's
 * coopctl.yaml does). Upgrading alpha builds the patched image on the host with the playbook and the docker
 * stand-in's `docker build`; prod stays vanilla. A patch that does not apply to the target is refused in preflight.
 */

const repo = path.resolve(import.meta.dirname, '../..');
const PATCH = path.join(repo, 'patches', 'mastodon', 'post-length-2000.patch');
const sha = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
const DIGEST = sha(`post-length-2000.patch ${sha(readFileSync(PATCH))}\n`);

const world = useMastodonSandbox();
let sb: TestSandbox;
let alpha: SandboxMastodon;
let prod: SandboxMastodon;

async function maxChars(host: SandboxMastodon): Promise<number> {
  return (await host.instance()).configuration.statuses.max_characters;
}

function composeFile(host: SandboxMastodon): string {
  return readFileSync(path.join(host.root, 'opt', 'social.coop', 'docker-compose.yml'), 'utf8');
}

beforeAll(() => {
  ({ sb, alpha } = world);
  prod = new SandboxMastodon(sb, 'prod');
});

describe('patch sets', () => {
  it('the plan lists the patches and the image the host builds', async () => {
    const r = await sb.run(['--json', '--dry-run', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as { plan: { findings: Array<{ id: string; message: string }> } };
    const f = doc.plan.findings.find((x) => x.id === 'patches');
    expect(f?.message).toContain('post-length-2000.patch');
    expect(f?.message).toContain(`v4.4.8-p${DIGEST.slice(0, 12)}`);
  });

  it('upgrading alpha carries the patch: 2000 characters on alpha, prod still 500, the record has the set', async () => {
    expect(await maxChars(alpha)).toBe(500);
    const r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.4.8', '--yes', '--no-check']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const doc = JSON.parse(r.stdout) as { record: { id: string; details: Record<string, unknown> } };
    expect(doc.record.details.patchSet).toEqual({
      digest: DIGEST,
      patches: [{ file: PATCH, sha256: sha(readFileSync(PATCH)) }],
    });
    // asked on the host, past the proxy's cache
    expect(await maxChars(alpha)).toBe(2000);
    expect(await maxChars(prod)).toBe(500);
    expect((await alpha.running()).version).toBe('4.4.8');
    expect(composeFile(alpha)).toContain(`image: ghcr.io/mastodon/mastodon:v4.4.8-p${DIGEST.slice(0, 12)}`);
    expect(composeFile(prod)).toContain('image: ghcr.io/mastodon/mastodon:v4.4.7\n');
    // the verification checked the patch's declared effect
    const verification = alpha.record(doc.record.id).details.verification as { checks: Array<{ id: string }> };
    expect(verification.checks.map((c) => c.id)).toContain('patches');
    const history = await sb.run(['--json', 'history', 'mastodon', '--env', 'alpha', '--limit', '1']);
    expect(history.stdout).toContain(DIGEST);
  });

  it('a patch that does not apply to the target is refused in preflight, naming patch and file; nothing changes', async () => {
    const bad = path.join(sb.dir, 'stale.patch');
    writeFileSync(
      bad,
      readFileSync(PATCH, 'utf8').replace('   URL_PLACEHOLDER_CHARS = 23', '   URL_PLACEHOLDER_CHARS = 42'),
    );
    const doc = parseDocument(readFileSync(sb.config, 'utf8'));
    doc.setIn(['services', 'mastodon', 'environments', 'alpha', 'patches'], [PATCH, bad]);
    writeFileSync(sb.config, doc.toString());
    const before = alpha.footprint();
    const r = await sb.run(['upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--yes', '--no-check']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(3);
    expect(r.stderr).toMatch(/patches: .*stale\.patch does not apply to 4\.5\.0/);
    expect(r.stderr).toContain('app/validators/status_length_validator.rb');
    expect(alpha.footprint()).toEqual(before);
    expect((await alpha.running()).version).toBe('4.4.8');
    expect(await maxChars(alpha)).toBe(2000);
  });

  it('a declared effect that does not hold fails verification; the restore brings 4.4.8 back with its patch', async () => {
    // a patch that applies (a note in the README) but declares an effect nothing makes true
    const readme = readFileSync(path.join(repo, 'test/fixtures/mastodon-upstream/files/README.md'), 'utf8').split('\n');
    const note = path.join(sb.dir, 'readme-note.patch');
    const hunk = [` ${readme[0]}`, ` ${readme[1]}`, '+Run by social.coop.', '+', ` ${readme[2]}`];
    writeFileSync(note, ['--- a/README.md', '+++ b/README.md', '@@ -1,3 +1,5 @@', ...hunk, ''].join('\n'));
    writeFileSync(
      `${note}.yaml`,
      'expect: { instanceApi: { path: configuration.statuses.max_characters, equals: 3000 } }\n',
    );
    const doc = parseDocument(readFileSync(sb.config, 'utf8'));
    doc.setIn(['services', 'mastodon', 'environments', 'alpha', 'patches'], [PATCH, note]);
    writeFileSync(sb.config, doc.toString());
    const r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--yes', '--no-check']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(1);
    const out = JSON.parse(r.stdout) as { record: { id: string; status: string } };
    expect(out.record.status).toBe('rolled-back');
    const record = alpha.record(out.record.id);
    const checks = (record.details.verification as { checks: Array<{ id: string; ok: boolean; message: string }> })
      .checks;
    expect(checks.find((c) => c.id === 'patches')).toMatchObject({ ok: false });
    expect(checks.find((c) => c.id === 'patches')?.message).toContain('= 2000, expected 3000');
    // 4.4.8 runs again with the patch set its own record names
    expect((record.details.recoveryDeploy as { patchSet: { digest: string } }).patchSet.digest).toBe(DIGEST);
    expect((await alpha.running()).version).toBe('4.4.8');
    expect(await maxChars(alpha)).toBe(2000);
    expect(composeFile(alpha)).toContain(`image: ghcr.io/mastodon/mastodon:v4.4.8-p${DIGEST.slice(0, 12)}`);
    expect(await maxChars(prod)).toBe(500);
  });

  it('the patches check applies the set in order: one built on another passes, two rivals fail naming the second', async () => {
    const text = readFileSync(PATCH, 'utf8');
    const dependent = path.join(sb.dir, 'post-length-3000.patch');
    writeFileSync(
      dependent,
      text.replace('-  MAX_CHARS = 500', '-  MAX_CHARS = 2000').replace('+  MAX_CHARS = 2000', '+  MAX_CHARS = 3000'),
    );
    const rival = path.join(sb.dir, 'post-length-1000.patch');
    writeFileSync(rival, text.replace('+  MAX_CHARS = 2000', '+  MAX_CHARS = 1000'));
    const patchesCheck = async (patches: string[]) => {
      const doc = parseDocument(readFileSync(sb.config, 'utf8'));
      doc.setIn(['services', 'mastodon', 'environments', 'alpha', 'patches'], patches);
      writeFileSync(sb.config, doc.toString());
      const r = await sb.run(['--json', 'preflight', 'mastodon', '--env', 'alpha', '--to', '4.5.0']);
      const out = JSON.parse(r.stdout) as { checks: Array<{ id: string; status: string; message: string }> };
      return out.checks.find((c) => c.id === 'patches');
    };
    expect(await patchesCheck([PATCH, dependent])).toMatchObject({ status: 'pass' });
    const c = await patchesCheck([PATCH, rival]);
    expect(c?.status).toBe('fail');
    expect(c?.message).toContain(`${rival} does not apply to 4.5.0 after ${PATCH}`);
    // each alone applies: only the order makes them conflict
    expect(await patchesCheck([rival])).toMatchObject({ status: 'pass' });
  });

  it('a patch whose lines hold {{ and {% reaches the host and the image as written; the upgrade succeeds', async () => {
    const readme = readFileSync(path.join(repo, 'test/fixtures/mastodon-upstream/files/README.md'), 'utf8').split('\n');
    const added = ['+Ansible must not template these: {{ something }} {{ 7 * 6 }}', '+{% if true %}x{% endif %} {# #}'];
    const templ = path.join(sb.dir, 'templates.patch');
    const text = [
      '--- a/README.md',
      '+++ b/README.md',
      '@@ -1,2 +1,4 @@',
      ` ${readme[0]}`,
      ...added,
      ` ${readme[1]}`,
      '',
    ];
    writeFileSync(templ, text.join('\n'));
    const doc = parseDocument(readFileSync(sb.config, 'utf8'));
    doc.setIn(['services', 'mastodon', 'environments', 'alpha', 'patches'], [PATCH, templ]);
    writeFileSync(sb.config, doc.toString());
    const r = await sb.run(['--json', 'upgrade', 'mastodon', '--env', 'alpha', '--to', '4.5.0', '--yes', '--no-check']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    const lines = [`post-length-2000.patch ${sha(readFileSync(PATCH))}`, `templates.patch ${sha(readFileSync(templ))}`];
    const tag = `v4.5.0-p${sha(lines.map((l) => `${l}\n`).join('')).slice(0, 12)}`;
    expect(composeFile(alpha)).toContain(`image: ghcr.io/mastodon/mastodon:${tag}`);
    // the build context on the host holds the file byte for byte, and the image the lines as written
    const build = path.join(alpha.root, 'opt', 'social.coop', 'build', tag, 'patches', 'templates.patch');
    expect(readFileSync(build)).toEqual(readFileSync(templ));
    const image = path.join(alpha.root, 'images', 'ghcr.io', 'mastodon', 'mastodon', tag, 'README.md');
    expect(readFileSync(image, 'utf8').split('\n').slice(0, 4)).toEqual([
      readme[0],
      ...added.map((l) => l.slice(1)),
      readme[1],
    ]);
    expect(await maxChars(alpha)).toBe(2000);
  });

  it('a patch file that is missing is bad input (exit 2, file:line), before anything runs remotely', async () => {
    const doc = parseDocument(readFileSync(sb.config, 'utf8'));
    doc.setIn(['services', 'mastodon', 'environments', 'alpha', 'patches'], ['patches/none.patch']);
    writeFileSync(sb.config, doc.toString());
    const before = alpha.footprint();
    const r = await sb.run(['preflight', 'mastodon', '--env', 'alpha', '--to', '4.5.0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /coopctl\.yaml:\d+ services\.mastodon\.environments\.alpha\.patches\[0\]: patches\/none\.patch: no such file/,
    );
    expect(alpha.footprint()).toEqual(before);
  });
});
