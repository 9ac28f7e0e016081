import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findBackup } from '../../src/backup/catalog.js';
import { createBackup, type CreateBackupOptions } from '../../src/backup/create.js';
import { parseIdentities } from '../../src/backup/crypto.js';
import { BackupError } from '../../src/backup/errors.js';
import { findHostCopy } from '../../src/backup/hostCopy.js';
import { verificationState, volumeParts, type Manifest } from '../../src/backup/manifest.js';
import type { Progress } from '../../src/backup/progress.js';
import { restoreScratch } from '../../src/backup/restore.js';
import { volumeLeftovers } from '../../src/backup/leftovers.js';
import { LocalStore } from '../../src/backup/store/local.js';
import { verifyBackup } from '../../src/backup/verify.js';
import {
  extractVolumesBeside,
  extractVolumesFromCopy,
  replacedDir,
  swapVolumes,
  volumeStamp,
} from '../../src/backup/volumeRestore.js';
import { type BackupVolume, volumeMountpoint as mountpointOf } from '../../src/backup/volumes.js';
import { volumeMountpoint } from '../doubles/dockerVolumes.js';
import { json } from '../helpers/cli.js';
import { seedMastodonLike, startPgHost, type PgHost } from '../helpers/pgHost.js';
import { fileHashes } from '../helpers/fileHashes.js';
import { startSandbox, type TestSandbox } from '../helpers/sandbox.js';
import { stackName } from '../doubles/abra/swarm.js';
import { sandboxLayout } from '../world/layout.js';
import { createAppVolume, mediawikiPath } from '../world/coopcloud/volumes.js';
import { writeWrapper } from '../world/mastodon/host.js';

/**
 * Volumes as parts of a backup, over a real sshd whose `docker` is the sandbox's (test/doubles/dockerVolumes.ts):
 * the wikis' images volumes as the world makes them (test/world/coopcloud/volumes.ts), real tar, zstd and age on
 * the "host", the restore test and the restore through the host programs (src/backup/host/volume-*.sh).
 */
let h: PgHost;
let work: string;
let store: LocalStore;
let identities: string[];
let recipient: string;
let prodVolume: string;
let alphaVolume: string;
const NAME = 'mediawiki-images';

function options(extra: Partial<CreateBackupOptions['source']> = {}): CreateBackupOptions {
  return {
    source: {
      service: 'wiki',
      env: 'prod',
      host: h.host,
      db: h.db('mediawiki'),
      tables: ['accounts', 'statuses', 'users'],
      version: '1.1.0+1.42.1',
      volumes: [{ name: NAME, volume: prodVolume }],
      ...extra,
    },
    store,
    encryption: { recipients: [recipient] },
    coopctlVersion: 'test',
    onHost: {
      dir: path.join(h.root, 'backups'),
      keep: 3,
      history: { remote: h.host, stateDir: path.join(h.root, 's') },
    },
  };
}

/** Every file under `dir`, relative path → sha256, read here (not by the host programs under test). */
function totalBytes(dir: string): number {
  return [...fileHashes(dir).keys()].reduce((n, f) => n + readFileSync(path.join(dir, f)).length, 0);
}

/** A stored object decrypted and decompressed here, with the operator's key. */
function plaintext(m: Manifest, file: string): string {
  const object = path.join(work, 'store', m.service, m.env, m.id, file);
  const key = path.join(work, 'key.txt');
  return execFileSync('bash', ['-c', 'age -d -i "$1" "$2" | zstd -dcq', 'x', key, object]).toString();
}

beforeAll(async () => {
  h = await startPgHost('hypha');
  seedMastodonLike(h, 'mediawiki', { mb: 1 });
  // the server's docker: the sandbox's stand-in over R/var/lib/docker/volumes, first on the session's PATH
  writeWrapper(h.root, 'docker', process.execPath, 'swarmDocker');
  prodVolume = createAppVolume(h.root, 'wiki.test', 'mediawiki', 'prod')!;
  alphaVolume = createAppVolume(h.root, 'wiki-alpha.test', 'mediawiki', 'small')!;
  work = mkdtempSync(path.join(os.tmpdir(), 'coopctl-vol-'));
  store = new LocalStore(path.join(work, 'store'));
  execFileSync('age-keygen', ['-o', path.join(work, 'key.txt')], { stdio: 'pipe' });
  const text = readFileSync(path.join(work, 'key.txt'), 'utf8');
  identities = parseIdentities(text, 'key.txt');
  recipient = /public key: (age1\w+)/.exec(text)![1];
}, 120_000);

afterAll(async () => {
  await h?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a volume as a part of the backup', () => {
  let m: Manifest;
  /** The restore test on the test host, its volumes extracted under `scratch`. */
  /** The backup's volumes extracted beside the target's, from the store. */
  const extractBeside = (volumes: BackupVolume[], stamp: string) =>
    extractVolumesBeside({ store, manifest: m, identities, host: h.host, volumes, stamp });
  const restoreTest = (manifest: Manifest, scratch: string) =>
    restoreScratch({
      store,
      manifest,
      identities,
      target: { host: h.host, db: h.db('postgres') },
      volumeScratch: scratch,
    });

  it("the wiki's images: one backup, its volume archived, hashed on the host, sealed and listed with its files", async () => {
    const prod = volumeMountpoint(h.root, prodVolume);
    const progress: Progress[] = [];
    m = await createBackup({ ...options(), onProgress: (p) => progress.push(p) });
    expect(m.files.map((f) => f.name)).toEqual([
      'db.dump.zst.age',
      `volume-${NAME}.tar.zst.age`,
      `volume-${NAME}.sums.zst.age`,
    ]);
    const [part] = volumeParts(m);
    const files = fileHashes(prod);
    expect(files.size).toBe(300);
    expect(part.volume).toMatchObject({ name: NAME, docker: prodVolume, files: 300, bytes: totalBytes(prod) });
    expect(part.volume.bytes).toBeGreaterThan(10 * 1024 * 1024);
    // the hash list, decrypted here: a line per file with its size and sha256, and the digest the manifest holds
    const list = plaintext(m, part.list.name);
    expect(createHash('sha256').update(list).digest('hex')).toBe(part.volume.listSha256);
    const lines = list.trimEnd().split('\n');
    expect(lines).toHaveLength(300);
    for (const line of lines) {
      const [, , size, sha] = /^(.+) (\d+) ([0-9a-f]{64})$/.exec(line)!;
      expect([...files.values()]).toContain(sha);
      expect(Number(size)).toBeGreaterThanOrEqual(2048);
    }
    // an upload's name with a space, brackets and an apostrophe: one line, quoted as bash's printf %q does
    expect(lines.filter((l) => l.includes("/Co-op\\'s_logo\\ \\(2024\\).png "))).toHaveLength(1);
    // the archive's bytes as the host wrote them, then as they went to the store
    const archived = progress.filter((p) => p.phase === 'volume');
    expect(archived.at(-1)?.bytes).toBeGreaterThan(10 * 1024 * 1024);
    expect(progress.some((p) => p.phase === 'upload' && p.totalBytes === archived.at(-1)?.bytes)).toBe(true);
    // the hash check (no key) covers the volume's objects too
    const quick = await verifyBackup({ store, manifest: m, record: false });
    expect(quick.verification.details.volumesHashed).toEqual([NAME]);
  });

  it('the restore test extracts it into scratch and compares count, size and hash list; the scratch is removed', async () => {
    const scratch = path.join(h.root, 'scratch');
    mkdirSync(scratch, { recursive: true });
    const r = await restoreTest(m, scratch);
    expect(r.verification.details.volumes).toEqual([
      {
        name: NAME,
        files: 300,
        bytes: volumeParts(m)[0].volume.bytes,
        listSha256: volumeParts(m)[0].volume.listSha256,
      },
    ]);
    expect(readdirSync(scratch)).toEqual([]);
    m = await findBackup(store, m.id);
    expect(verificationState(m)).toBe('verified');
  });

  it('a file the extract loses or changes fails the restore test, naming it; recorded as failed', async () => {
    const scratch = path.join(h.root, 'scratch');
    // the restore-test host's tar loses a file it extracted, then changes one (a stand-in first on the PATH)
    const fault = path.join(h.root, 'tar-fault');
    writeFileSync(
      path.join(h.bin, 'tar'),
      [
        '#!/bin/bash',
        '/usr/bin/tar "$@" || exit',
        `read -r how file <${fault}`,
        'case " $* " in',
        '  *" -C "*" -xf "*) if [ "$how" = rm ]; then rm -f -- "$2/$file"; else echo x >>"$2/$file"; fi ;;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const victim = mediawikiPath('wiki.test_Upload_0003.png');
    expect(existsSync(path.join(volumeMountpoint(h.root, prodVolume), victim))).toBe(true);
    try {
      for (const how of ['rm', 'append']) {
        writeFileSync(fault, `${how} ${victim}`);
        const err = await restoreTest(m, scratch).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(BackupError);
        expect((err as BackupError).code).toBe('restore-mismatch');
        expect((err as Error).message).toContain(`volume ${NAME}`);
        expect((err as Error).message).toContain(`first differing file: ${victim}`);
        expect(readdirSync(scratch)).toEqual([]);
      }
    } finally {
      rmSync(path.join(h.bin, 'tar'));
    }
    const again = await findBackup(store, m.id);
    expect(verificationState(again)).toBe('failed');
    expect(again.verifications.at(-1)).toMatchObject({ kind: 'restore-scratch', ok: false });
  });

  it('an archive changed in the store is caught by the hash check, and before anything is extracted', async () => {
    const object = path.join(work, 'store', 'wiki', 'prod', m.id, `volume-${NAME}.tar.zst.age`);
    const original = readFileSync(object);
    const changed = Buffer.from(original);
    changed[changed.length >> 1] ^= 0xff;
    writeFileSync(object, changed);
    try {
      // the hash check of `backup verify --quick` finds it, with no key
      const quick = await verifyBackup({ store, manifest: m, record: false }).catch((e: unknown) => e);
      expect((quick as BackupError).code).toBe('tampered');
      expect((quick as Error).message).toContain(`volume-${NAME}.tar.zst.age`);
      const err = await restoreTest(m, path.join(h.root, 'scratch')).catch((e: unknown) => e);
      expect((err as BackupError).code).toBe('tampered');
    } finally {
      writeFileSync(object, original);
    }
  });

  it("restored into alpha: prod's images beside alpha's volume, checked, swapped in; alpha's kept aside", async () => {
    const alpha = volumeMountpoint(h.root, alphaVolume);
    const before = fileHashes(alpha);
    expect(before.size).toBe(40);
    const stamp = volumeStamp();
    const target = [{ name: NAME, volume: alphaVolume }];
    const extracted = await extractBeside(target, stamp);
    expect(extracted).toMatchObject([{ files: 300, mountpoint: alpha }]);
    // nothing of alpha's changed before the swap
    expect(fileHashes(alpha)).toEqual(before);
    await swapVolumes(h.host, extracted, stamp);
    expect(fileHashes(alpha)).toEqual(fileHashes(volumeMountpoint(h.root, prodVolume)));
    expect(fileHashes(replacedDir(alpha, stamp))).toEqual(before);
    expect(existsSync(`${alpha}.coopctl-restored-${stamp}`)).toBe(false);
    // `backup leftovers` lists the replaced files, with their size; prune's remove() takes them
    const [left, ...none] = await volumeLeftovers(h.host, target);
    expect(none).toEqual([]);
    expect(left).toMatchObject({ kind: 'replaced-volume', name: replacedDir(alpha, stamp), where: 'hypha' });
    expect(left.size).toBeGreaterThan(totalBytes(replacedDir(alpha, stamp)));
    await left.remove();
    expect(existsSync(replacedDir(alpha, stamp))).toBe(false);
  });

  it('a swap that fails part way is undone: every volume keeps its own files, nothing is left beside them', async () => {
    const alpha = volumeMountpoint(h.root, alphaVolume);
    const before = fileHashes(alpha);
    const stamp = volumeStamp();
    const target = [{ name: NAME, volume: alphaVolume }];
    const [extracted] = await extractBeside(target, stamp);
    // a second volume whose extract is gone (removed by hand, a full disk): its swap fails after alpha's was done
    const other = createAppVolume(h.root, 'other.test', 'mediawiki', 'small')!;
    const gone = {
      volume: { name: 'other', volume: other },
      mountpoint: volumeMountpoint(h.root, other),
      files: 0,
      bytes: 0,
    };
    const err = await swapVolumes(h.host, [extracted, gone], stamp).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/swap of volume .*other.test.* failed: .*coopctl-restored-.* is missing/);
    expect(fileHashes(alpha)).toEqual(before);
    expect(existsSync(replacedDir(alpha, stamp))).toBe(false);
    expect(existsSync(`${alpha}.coopctl-restored-${stamp}`)).toBe(false);
  });

  it('from the on-host copy (no network, no key) as from the store', async () => {
    const copy = { base: path.join(h.root, 'backups'), service: 'wiki', env: 'prod', id: m.id };
    const onHost = (await findHostCopy(h.host, copy))!;
    expect(onHost.volumes).toEqual([volumeParts(m)[0].volume]);
    const stamp = volumeStamp();
    const target = [{ name: NAME, volume: alphaVolume }];
    const extracted = await extractVolumesFromCopy(h.host, copy, m.id, onHost.volumes, target, stamp);
    expect(extracted).toMatchObject([{ files: 300, bytes: volumeParts(m)[0].volume.bytes }]);
    const alpha = await mountpointOf(h.host, target[0]);
    expect(fileHashes(`${alpha}.coopctl-restored-${stamp}`)).toEqual(fileHashes(volumeMountpoint(h.root, prodVolume)));
  });

  it("a backup's volume the target does not name, or a volume Docker does not have: refused, nothing left", async () => {
    const err = await extractVolumesBeside({
      store,
      manifest: m,
      identities,
      host: h.host,
      volumes: [],
      stamp: volumeStamp(),
    }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/holds volume mediawiki-images, which the target does not name/);
    const missing = await createBackup(options({ volumes: [{ name: NAME, volume: 'wiki_test_nope' }] })).catch(
      (e: unknown) => e,
    );
    expect((missing as Error).message).toContain('get wiki_test_nope: no such volume');
    const ids = readdirSync(path.join(work, 'store', 'wiki', 'prod'));
    expect(ids).toEqual([m.id]);
    expect(readdirSync(path.join(h.root, 'backups', 'wiki', 'prod'))).toEqual([m.id]);
  });

  it('files changed while tar read them (tar exits 1): a backup all the same, marked, and its restore test passes', async () => {
    // source: GNU tar's manual, "Exit status" (https://www.gnu.org/software/tar/manual/html_section/Synopsis.html):
    // 1 when a file changed while it was archived ("file changed as we read it"); the archive holds what was read
    writeFileSync(
      path.join(h.bin, 'tar'),
      [
        '#!/bin/bash',
        '/usr/bin/tar "$@" || exit',
        'case " $* " in *" -cf "*) echo "tar: ./a/ab/x.png: file changed as we read it" >&2; exit 1 ;; esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    let changed: Manifest;
    try {
      changed = await createBackup(options());
    } finally {
      rmSync(path.join(h.bin, 'tar'));
    }
    const [part] = volumeParts(changed);
    expect(part.volume).toMatchObject({ name: NAME, files: 300, changedWhileArchived: true });
    const scratch = path.join(h.root, 'scratch-changed');
    mkdirSync(scratch, { recursive: true });
    const r = await restoreTest(changed, scratch);
    expect(r.verification.details.volumes).toEqual([
      expect.objectContaining({ name: NAME, files: 300, listSha256: part.volume.listSha256 }),
    ]);
  });
});

describe('through the CLI on the sandbox: the wiki with its images', () => {
  let sb: TestSandbox;
  const mountpoint = (domain: string) =>
    volumeMountpoint(sandboxLayout(sb.dir).host('hypha'), `${stackName(domain)}_${NAME}`);
  const wikiUrl = (env: string) => {
    const config = parse(readFileSync(sb.config, 'utf8')) as {
      services: { wiki: { environments: Record<string, { health: { url: string } }> } };
    };
    return config.services.wiki.environments[env].health.url.replace(/\/$/, '');
  };

  beforeAll(async () => {
    sb = await startSandbox();
  }, 900_000);

  afterAll(async () => {
    await sb?.down();
  });

  it("backup create, the restore test, and restore --into alpha bring prod's images to wiki-alpha", async () => {
    const prod = fileHashes(mountpoint('wiki.sandbox'));
    const alphaBefore = fileHashes(mountpoint('wiki-alpha.sandbox'));
    expect(prod.size).toBe(300);
    expect(alphaBefore.size).toBe(40);
    const created = await sb.run(['--json', 'backup', 'create', 'wiki', '--env', 'prod']);
    expect(created.code, created.stderr).toBe(0);
    const m = json<Manifest>(created);
    expect(volumeParts(m).map((p) => p.volume)).toMatchObject([{ name: NAME, files: 300 }]);
    expect(created.stderr).toMatch(/volume archive/);

    const tested = await sb.run(['backup', 'verify', m.id, '--restore']);
    expect(tested.code, tested.stderr).toBe(0);
    expect(tested.stdout).toMatch(new RegExp(`volume ${NAME}: 300 files, .* extracted and removed; hash lists match`));

    const r = await sb.run(['--json', 'backup', 'restore', m.id, '--into', 'alpha', '--from-other-env', '--yes']);
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ record: { status: string } }>(r).record.status).toBe('succeeded');
    expect(fileHashes(mountpoint('wiki-alpha.sandbox'))).toEqual(prod);
    // and wiki-alpha serves them: prod's upload at its URL under /images/
    const upload = [...prod.keys()].find((f) => f.includes("Co-op's_logo"))!;
    const served = await fetch(`${wikiUrl('alpha')}/images/${upload.split('/').map(encodeURIComponent).join('/')}`);
    expect(served.status).toBe(200);
    const body = Buffer.from(await served.arrayBuffer());
    expect(createHash('sha256').update(body).digest('hex')).toBe(prod.get(upload));
    // alpha's own images kept beside, as its replaced database is
    const kept = readdirSync(path.dirname(mountpoint('wiki-alpha.sandbox'))).filter((d) => d.startsWith('_data.'));
    expect(kept).toHaveLength(1);
    expect(kept[0]).toMatch(/^_data\.coopctl-before-/);
    expect(fileHashes(path.join(path.dirname(mountpoint('wiki-alpha.sandbox')), kept[0]))).toEqual(alphaBefore);
    expect(fileHashes(mountpoint('wiki.sandbox'))).toEqual(prod);
    // the record names what it kept; `backup leftovers` lists it with that owner
    const left = await sb.run(['--json', 'backup', 'leftovers', 'wiki', '--env', 'alpha']);
    expect(left.code, left.stderr).toBe(0);
    const volumes = json<{ leftovers: Array<{ kind: string; name: string; owner?: string }> }>(left).leftovers.filter(
      (l) => l.kind === 'replaced-volume',
    );
    expect(volumes).toHaveLength(1);
    expect(volumes[0].name).toBe(path.join(path.dirname(mountpoint('wiki-alpha.sandbox')), kept[0]));
    expect(volumes[0].owner).toMatch(/^restore /);
  }, 600_000);
});
