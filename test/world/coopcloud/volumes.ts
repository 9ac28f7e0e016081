import { createCipheriv, createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stackName } from '../../doubles/abra/swarm.js';
import { volumeMountpoint, volumesDir } from '../../doubles/dockerVolumes.js';

/**
 * The apps' data volumes on hypha: real files in Docker's layout (test/doubles/dockerVolumes.ts), made when the
 * world deploys the apps. The content is deterministic (a seed per app), incompressible as real images are.
 */

// source: reference/production.md (P: Bonfire's `upload-data:/opt/app/data/uploads`; MediaWiki's uploads in
// /var/www/html/images); the volume names are the recipes' compose files' (test/fixtures/recipes/*/compose.yml:
// mediawiki `mediawiki-images`, bonfire `upload-data`)
export const APP_VOLUMES: Record<string, string | undefined> = {
  mediawiki: 'mediawiki-images',
  bonfire: 'upload-data',
};

// source: https://www.mediawiki.org/wiki/Manual:$wgHashedUploadDirectory (on by default: an upload goes to
// images/X/XY/Name where XY are the first hex digits of md5(Name)); the wikimedia-commons-file-path package's
// example: File:Innsbruck.jpg → 2/2a/Innsbruck.jpg
export function mediawikiPath(name: string): string {
  const md5 = createHash('md5').update(name).digest('hex');
  return `${md5[0]}/${md5.slice(0, 2)}/${name}`;
}

/** `bytes` pseudo-random bytes from `seed` (AES-CTR over zeros): the same every build, not compressible. */
function content(seed: string, bytes: number): Buffer {
  const key = createHash('sha256').update(seed).digest();
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(bytes)), c.final()]);
}

interface VolumeFile {
  path: string;
  bytes: number;
}

/**
 * A wiki's uploads: `count` images in MediaWiki's hashed layout, most of a few KiB to some tens of KiB, every 50th a
 * photo of several MiB (`large` bytes); a name with a space and an apostrophe, as wiki titles have.
 */
function wikiImages(seed: string, count: number, large: number): VolumeFile[] {
  return Array.from({ length: count }, (_, i) => {
    const name = i === 7 ? "Co-op's_logo (2024).png" : `${seed}_Upload_${String(i).padStart(4, '0')}.png`;
    return { path: mediawikiPath(name), bytes: i % 50 === 0 ? large : 2048 + ((i * 7919) % 60_000) };
  });
}

// source: none known for Bonfire's layout under /opt/app/data/uploads; one directory per user, as its uploads
// are per user: the files, their count and sizes are what the backup needs (check on hypha: ls the volume)
function bonfireUploads(count: number, large: number): VolumeFile[] {
  return Array.from({ length: count }, (_, i) => ({
    path: `01HUSER${String(i % 9).padStart(19, '0')}/01HFILE${String(i).padStart(19, '0')}.jpg`,
    bytes: i % 40 === 0 ? large : 4096 + ((i * 104_729) % 40_000),
  }));
}

const isRoot = () => process.getuid?.() === 0;

// source: the official mediawiki image runs Apache as www-data (uid 33 in Debian, base-passwd's table), which owns
// what it uploads; Bonfire's release image runs as its own user (check on hypha: stat the volume's files)
const OWNER: Record<string, number> = { mediawiki: 33, bonfire: 1000 };

/**
 * The app's volume (`<stack>_<volume>`) with its files, unless its recipe has none; returns its name. As root the
 * files are the app's user's and Docker's directories root's, as on hypha.
 */
export function createAppVolume(root: string, domain: string, recipe: string, size: 'prod' | 'small'): string | null {
  const volume = APP_VOLUMES[recipe];
  if (!volume) return null;
  const name = `${stackName(domain)}_${volume}`;
  const data = volumeMountpoint(root, name);
  mkdirSync(data, { recursive: true });
  const files =
    recipe === 'mediawiki'
      ? wikiImages(domain, size === 'prod' ? 300 : 40, size === 'prod' ? 2 * 1024 * 1024 : 1024 * 1024)
      : bonfireUploads(150, 1024 * 1024);
  for (const f of files) {
    const file = path.join(data, f.path);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content(`${domain}/${f.path}`, f.bytes));
  }
  if (isRoot()) {
    const uid = OWNER[recipe] ?? 0;
    chownTree(data, uid);
    // Docker's own directories: root's only (the harsher reading: nothing below readable without sudo)
    chmodSync(volumesDir(root), 0o700);
  }
  return name;
}

function chownTree(dir: string, uid: number): void {
  chownSync(dir, uid, uid);
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid);
    else chownSync(p, uid, uid);
  }
}
