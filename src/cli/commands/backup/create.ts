import { createBackup, manifestDocument } from '../../../backup/index.js';
import { assertName, formatBytes } from '../../../kernel/validate.js';
import { HostFacts } from '../../../checks/facts.js';
import type { CommandContext } from '../../context.js';
import { backupSource, encryptionSettings, openBackupStore } from '../../../targets/backups.js';
import { coopctlVersion } from '../../../kernel/version.js';
import { interruptible, progressPrinter } from './common.js';

export async function run(
  ctx: CommandContext,
  opts: { env: string; store?: string; allowPlaintext?: boolean },
  [service]: string[],
) {
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  const ws = ctx.workspace();
  const target = await ws.target(service, opts.env);
  const source = backupSource(target);
  const store = await openBackupStore(ws, opts.store);
  const p = ctx.printer;
  if (ctx.global.dryRun) {
    p.info(
      `! skipped (dry run): dump ${source.db.name} on ${source.host.target.name} ` +
        `(and ${source.secretsFile}) to ${store.description}`,
    );
    return;
  }
  const version = await new HostFacts(ws, target).runningVersion().catch(() => null);
  const progress = progressPrinter(ctx);
  let m;
  try {
    m = await interruptible(ctx, 'backup create', (signal) =>
      createBackup({
        source: { ...source, version },
        store,
        encryption: encryptionSettings(ws),
        allowPlaintext: opts.allowPlaintext,
        coopctlVersion: coopctlVersion(),
        onProgress: progress.onProgress,
        log: (line) => p.debug(line),
        signal,
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
  p.info(`not verified yet: coopctl backup verify ${m.id}`);
}
