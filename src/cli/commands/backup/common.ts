import { manifestDocument, progressText, restoreScratch, volumeParts, type Progress } from '../../../backup/index.js';
import type { Judgement } from '../../../backup/leftovers.js';
import { formatBytes, formatDuration } from '../../../kernel/validate.js';
import { InterruptedError } from '../../../kernel/errors.js';
import type { CommandContext } from '../../context.js';
import { installInterruptHandler } from '../../signals.js';
import { backupIdentities, openBackupStore } from '../../../backup/configured.js';
import { restoreFactsSource, restoreTestPlace } from '../../../workspace/restoreTest.js';
import { findBackupOrNewest } from '../../../backup/catalog.js';
import { inMariaDbScratchServer } from '../../../backup/mariadbScratch.js';
import type { DbTarget } from '../../../backup/commands.js';

/** Byte progress and throughput on stderr: a line per second (a rewritten line on a terminal). */
export function progressPrinter(ctx: CommandContext): { onProgress: (p: Progress) => void; done: () => void } {
  const text = progressText();
  const tty = Boolean(ctx.io.stderr.isTTY);
  let last = 0;
  let shown = false;
  return {
    onProgress(p) {
      const now = Date.now();
      if (now - last < (tty ? 200 : 1000)) return;
      last = now;
      shown = true;
      if (tty) ctx.io.stderr.write(`\r\x1b[K${text(p)}`);
      else ctx.printer.info(text(p));
    },
    done() {
      if (tty && shown) ctx.io.stderr.write('\r\x1b[K');
    },
  };
}

/**
 * Ctrl-C (SIGINT, SIGTERM) during a backup command stops its transfer; what it started is removed (the object or
 * `.partial` file, the multipart upload, the scratch database, the dump still running on the host) before it
 * exits with 130.
 */
export async function interruptible<T>(ctx: CommandContext, what: string, run: (signal: AbortSignal) => Promise<T>) {
  const interrupt = installInterruptHandler(ctx.printer);
  try {
    return await run(interrupt.signal);
  } catch (err) {
    if (!interrupt.signal.aborted || err instanceof InterruptedError) throw err;
    throw new InterruptedError(`${what} interrupted; what it had started was removed`, { cause: err });
  } finally {
    interrupt.dispose();
  }
}

export function leftoverDocument(j: Judgement) {
  const { remove: _, ...l } = j.leftover;
  return { ...l, prune: j.remove, reason: j.reason };
}

/** KIND NAME WHERE AGE SIZE OWNER, for a table. */
export function leftoverRow(j: Judgement, now: Date): string[] {
  const l = j.leftover;
  return [
    l.kind,
    l.name,
    l.where,
    `${formatDuration(now.getTime() - Date.parse(l.createdAt))} ago`,
    l.size === null ? '?' : formatBytes(l.size),
    l.owner ?? '-',
  ];
}

/**
 * The scheduled restore test (`backup restore ID --into scratch`, `backup verify ID --restore`): restores into a
 * throwaway database (on backup.restoreTest; a Co-op Cloud app's in its own database service), compares row counts
 * with the manifest, drops it, records the result; exit 1 when it fails.
 */
export async function restoreTest(ctx: CommandContext, id: string, storeName: string | undefined) {
  const ws = ctx.workspace();
  const store = await openBackupStore(ws, storeName);
  const manifest = await findBackupOrNewest(store, id);
  const target = await restoreTestPlace(ws, manifest);
  const facts = await restoreFactsSource(ws, manifest);
  const keys = manifest.encryption.algorithm === 'age' ? await backupIdentities(ws) : undefined;
  if (ctx.global.dryRun) {
    ctx.printer.info(
      `! skipped (dry run): restore ${id} into a scratch database on ${target.host.target.name}, ` +
        'compare row counts, drop it',
    );
    return;
  }
  const progress = progressPrinter(ctx);
  let r;
  try {
    r = await interruptible(ctx, 'backup restore', (signal) => {
      const test = (db: DbTarget) =>
        restoreScratch({
          store,
          manifest,
          identities: keys,
          target: { ...target, db },
          onProgress: progress.onProgress,
          signal,
          facts,
        });
      return target.db.engine === 'mariadb'
        ? inMariaDbScratchServer(target.host, manifest.database, ws.config.checks.diskHeadroom, test)
        : test(target.db);
    });
  } finally {
    progress.done();
  }
  for (const w of r.warnings) ctx.printer.warn(w);
  if (ctx.global.json)
    return ctx.printer.json({ ok: true, ...manifestDocument(r.manifest), restoreTest: r.verification });
  const counts = Object.entries(r.rowCounts)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  const volumes = volumeParts(r.manifest).map(
    (v) => `; volume ${v.volume.name}: ${v.volume.files} files, ${formatBytes(v.volume.bytes)} extracted and removed`,
  );
  ctx.printer.out(
    `${id}: restored on ${target.host.target.name} into ${r.database} and dropped; row counts match (${counts})` +
      (volumes.length ? `${volumes.join('')}; hash lists match` : ''),
  );
  for (const line of r.facts?.lines ?? []) ctx.printer.out(`  ${line}`);
  if (r.facts?.liveError) ctx.printer.warn(`${r.facts.what} of the live database not counted: ${r.facts.liveError}`);
}
