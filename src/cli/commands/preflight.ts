import { runChecks } from '../../checks/engine.js';
import { RunView } from '../../pipeline/view.js';
import { checksFor } from '../../checks/index.js';
import { ExitCode } from '../../kernel/errors.js';
import { assertName, assertVersion, printable } from '../../kernel/validate.js';
import type { CommandContext } from '../context.js';
import { statusMark } from '../format.js';

interface PreflightOptions {
  env: string;
  to?: string;
  pre?: boolean;
}

export async function run(ctx: CommandContext, opts: PreflightOptions, [service]: string[]) {
  assertName(service, 'SERVICE');
  assertName(opts.env, '--env');
  if (opts.to !== undefined) assertVersion(opts.to, '--to');
  const ws = ctx.workspace();
  const view = await new RunView(ws).of(service, opts.env);
  const target = view.target;
  const p = ctx.printer;
  if (!ctx.global.json)
    p.info(`preflight ${service}/${opts.env} on ${target.host.name}${opts.to ? ` (target ${opts.to})` : ''}`);
  const results = await runChecks(checksFor(target), {
    target,
    context: ws,
    runner: ctx.runner,
    facts: view.facts,
    toVersion: opts.to,
    allowPrerelease: !!opts.pre,
  });
  const ok = !results.some((r) => r.status === 'fail');
  if (ctx.global.json) {
    p.json({
      ok,
      service,
      env: opts.env,
      host: target.host.name,
      checks: results.map((r) => ({ id: r.id, status: r.status, message: r.message, fix: r.fix ?? null })),
    });
  } else {
    for (const r of results) {
      p.out(`${statusMark(p, r.status)} ${r.id.padEnd(20)} ${printable(r.message, { lines: true })}`);
      if (r.fix && r.status !== 'pass') p.out(`  ${' '.repeat(20)} fix: ${printable(r.fix, { lines: true })}`);
    }
    const counts = (s: string) => results.filter((r) => r.status === s).length;
    p.out(
      `\n${ok ? 'ready' : 'NOT ready'}: ${counts('pass')} passed, ${counts('warn')} warnings, ${counts('fail')} failed`,
    );
  }
  return ok ? ExitCode.ok : ExitCode.refused;
}
