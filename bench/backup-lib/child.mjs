// One backup operation in a fresh process, on the built dist/ (what ships), reporting
// wall time and peak RSS. Driven by bench/backup-pipeline.ts; not a benchmark by itself.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';

const spec = JSON.parse(process.argv[2] ?? 'null');
if (!spec) {
  console.error('usage: child.mjs JSON (run by bench/backup-pipeline.ts)');
  process.exit(2);
}
const dist = new URL('../../dist/', import.meta.url);
const { createBackup, findBackup, verifyBackup, parseIdentities, LocalStore } = await import(
  new URL('backup/index.js', dist).href
);
const { S3Store } = spec.store.type === 's3' ? await import(new URL('backup/store/s3.js', dist).href) : {};
const { SshPool } = await import(new URL('remote/ssh.js', dist).href);

const store = spec.store.type === 'local' ? new LocalStore(spec.store.dir) : new S3Store(spec.store.settings);
const pool = new SshPool(
  { ...spec.ssh, agent: false, connectTimeoutMs: 10_000, commandTimeoutMs: 600_000, stallTimeoutMs: 600_000 },
  false,
);
const host = pool.host(spec.target);

const started = process.hrtime.bigint();
const out = {};
if (spec.op === 'create') {
  const m = await createBackup({
    source: { service: 'mastodon', env: 'bench', host, db: { name: spec.db, user: 'postgres' }, tables: ['statuses'] },
    store,
    encryption: { recipients: [spec.recipient], identityRef: null },
    compression: spec.compression,
    coopctlVersion: 'bench',
    onHost: { dir: spec.onHost.dir, keep: 1, history: { remote: host, stateDir: spec.onHost.stateDir } },
  });
  Object.assign(out, { id: m.id, size: m.size });
} else if (spec.op === 'verify') {
  const m = await findBackup(store, spec.id);
  // deep: decrypt too and have pg_restore --list read the dump on the host.
  const deep = spec.identityFile
    ? {
        identities: parseIdentities(readFileSync(spec.identityFile, 'utf8'), 'key'),
        lister: { host, db: { name: 'postgres', user: 'postgres' } },
      }
    : {};
  const r = await verifyBackup({ store, manifest: m, ...deep });
  Object.assign(out, { ok: r.verification.ok, size: m.size });
} else if (spec.op === 'download-sha256sum') {
  // The plain way: fetch the object and hash it with sha256sum.
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const r = await store.client.send(new GetObjectCommand({ Bucket: spec.store.settings.bucket, Key: spec.key }));
  const sum = spawn('sha256sum', [], { stdio: ['pipe', 'pipe', 'inherit'] });
  let text = '';
  sum.stdout.on('data', (b) => (text += b));
  const exited = new Promise((resolve) => sum.on('close', resolve));
  await pipeline(r.Body, sum.stdin);
  await exited;
  out.sha256 = text.split(' ')[0];
}
out.ms = Number(process.hrtime.bigint() - started) / 1e6;
out.maxRssMB = process.resourceUsage().maxRSS / 1024;
await pool.closeAll();
store.close?.();
console.log(JSON.stringify(out));
