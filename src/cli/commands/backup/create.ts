import { createBackup, manifestDocument, volumeParts } from '../../../backup/index.js';
import { assertName, formatBytes } from '../../../kernel/validate.js';
import { RunView } from '../../../pipeline/view.js';
import type { CommandContext } from '../../context.js';
import { encryptionSettings, openBackupStore } from '../../../backup/configured.js';
import { backupSource } from '../../../targets/backupSource.js';
import { coopctlVersion } from '../../../kernel/version.js';
import { OperationError } from '../../../kernel/errors.js';
import type { SafetyBackups, Target } from '../../../targets/target.js';
import { interruptible, progressPrinter } from './common.js';

export async function run(
  ctx: CommandContext,
  opts: { env: string; store?: string; allowPlaintext?: boolean },
  [service]: string[],
) {
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  const ws = ctx.workspace();
  const view = await new RunView(ws).of(service, opts.env);
  const target = view.target;
  const p = ctx.printer;
  const version = await view.facts.runningVersion().catch(() => null);
  const own = target.database ? undefined : target.driver.safetyBackups?.(ws, target);
  if (own) return toolBackup(ctx, target, own, version);
  const source = backupSource(target);
  const store = await openBackupStore(ws, opts.store);
  if (ctx.global.dryRun) {
    const also = [source.secretsFile, ...(source.volumes ?? []).map((v) => `volume ${v.volume}`)].filter(Boolean);
    const secrets = also.length ? ` (and ${also.join(', ')})` : '';
    p.info(
      `! skipped (dry run): dump ${source.db.name} on ${source.host.target.name}${secrets} to ${store.description}`,
    );
    return;
  }
  const progress = progressPrinter(ctx);
  let m;
  try {
    // Taken on the host and sealed there: an S3 store is reached from the host, a local one gets the ciphertext.
    m = await interruptible(ctx, 'backup create', (signal) =>
      createBackup({
        source: { ...source, version },
        store,
        encryption: encryptionSettings(ws),
        allowPlaintext: opts.allowPlaintext,
        coopctlVersion: coopctlVersion(),
        onProgress: progress.onProgress,
        log: (line: string) => p.debug(line),
        signal,
        onHost: {
          dir: target.paths.backupDir,
          keep: ws.config.backup.onHost.keep,
          history: { remote: target.remote, stateDir: target.paths.stateDir },
        },
      }),
    );
  } finally {
    progress.done();
  }
  if (ctx.global.json) return p.json(manifestDocument(m));
  p.out(
    `${m.id}  ${service}/${opts.env}  ${formatBytes(m.size)}  ` +
      `${m.version ?? 'version unknown'}  in ${store.description}`,
  );
  for (const v of volumeParts(m))
    p.out(
      `  volume ${v.volume.name}: ${v.volume.files} files, ${formatBytes(v.volume.bytes)}` +
        (v.volume.changedWhileArchived ? ' (some changed while archived: kept as tar read them)' : ''),
    );
  if (m.hostCopy) p.info(`also on ${m.hostCopy.host}: ${m.hostCopy.file}`);
  p.info(`not verified yet: coopctl backup verify ${m.id}`);
}

/** An app coopctl does not dump (no `database:`): the deploy tool's own backup (abra's), proven to hold data. */
async function toolBackup(ctx: CommandContext, t: Target, backups: SafetyBackups, version: string | null) {
  const p = ctx.printer;
  if (ctx.global.dryRun) {
    p.info(`! skipped (dry run): ${backups.describe(t)} of ${t.service}/${t.env}`);
    return;
  }
  if (!version) throw new OperationError(`${t.service}/${t.env}: cannot tell the version it runs`);
  const b = await interruptible(ctx, 'backup create', (signal) =>
    backups.create(t, version, { signal, report: (line) => p.debug(line), title: () => {} }),
  );
  if (ctx.global.json)
    return p.json({ ok: true, service: t.service, env: t.env, version, id: b.id, summary: b.summary });
  p.out(`${b.id}  ${t.service}/${t.env}  ${version}  ${b.summary}`);
}
