import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FRESHNESS, TEXTFILE_DIR } from '../../../monitoring/freshness.js';
import { readMonitorPlan } from '../../../monitoring/plan.js';
import { renderMonitoring } from '../../../monitoring/render.js';
import type { CommandContext } from '../../context.js';

/** `monitor render [--out DIR]`: the monitoring host's configuration, from coopctl.yaml and the inventories. */
export async function run(ctx: CommandContext, opts: { out?: string }) {
  const loaded = ctx.config();
  const out = opts.out ? path.resolve(ctx.cwd, opts.out) : path.join(loaded.dir, 'monitoring');
  const ws = ctx.workspace();
  const plan = await readMonitorPlan({ loaded, inventories: ws.inventories, profileOf: (s) => ws.profileOf(s) });
  const files = renderMonitoring(plan);
  if (!ctx.global.dryRun) {
    for (const [name, text] of files) {
      mkdirSync(path.dirname(path.join(out, name)), { recursive: true });
      writeFileSync(path.join(out, name), text);
    }
  }
  const p = ctx.printer;
  const listed = [...files].map(([name, text]) => ({ path: path.join(out, name), bytes: Buffer.byteLength(text) }));
  if (ctx.global.json) {
    p.json({ out, dryRun: ctx.global.dryRun, files: listed });
    return;
  }
  for (const f of listed) p.out(`${ctx.global.dryRun ? '! skipped ' : ''}${f.path} (${f.bytes} bytes)`);
  p.out(
    `${plan.targets.length} service × environment, ${plan.hosts.length} hosts; ` +
      `for /etc/prometheus/ on ${plan.monitor.name} (Debian's prometheus, blackbox exporter and alertmanager)`,
  );
  p.out(`freshness: ${Object.values(FRESHNESS).join(', ')} from node exporter's textfiles in ${TEXTFILE_DIR}`);
}
