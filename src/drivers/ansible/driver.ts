import { OperationError } from '../../kernel/errors.js';
import { readFile } from 'node:fs/promises';
import { compose } from '../../remote/compose.js';
import { passStoreVariables } from '../../kernel/secrets.js';
import { secretsEnvironment } from '../../backup/configured.js';
import type { DeployRequest, DeployResult } from '../../targets/driver.js';
import type { Driver, Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';
import { ansibleVersionCheck, collectionsCheck, playbookSyntaxCheck } from './checks.js';
import { ansibleServiceSchema } from './config.js';
import { ansibleProbe } from './doctor.js';
import { playbookOf } from './paths.js';
import { runPlaybook, type PlaybookOptions, type PlaybookResult } from './playbook.js';
import { ansibleVersion } from './tool.js';

async function playbookOptions(
  context: RunContext,
  t: Target,
  req: Omit<DeployRequest, 'report'>,
): Promise<PlaybookOptions> {
  const version = await context.once('ansible-version', () => ansibleVersion(context.runner).catch(() => undefined));
  return {
    ...playbookOf(context, t),
    limit: [t.host.name],
    extraVars: req.variables,
    files: req.files,
    diff: true,
    logFile: req.logFile,
    mitogen: true,
    ansibleVersion: version,
    signal: req.signal,
    ssh: context.sshFiles,
    // the pass store secrets resolve in, for the inventory's lookup('passwordstore', ...) too
    env: passStoreVariables(secretsEnvironment(context)),
  };
}

/** How long an interrupted deploy's remote commands (a migration) may take to end before coopctl gives up. */
const SETTLE_TIMEOUT_MS = 10 * 60_000;

/** The most telling line of a failed task: an error line from its output, else its message. */
function failureLine(f: { msg?: string; stderr?: string | null; stdout?: string | null }): string {
  const lines = [f.stderr, f.stdout]
    .flatMap((x) => (x ?? '').split('\n'))
    .map((l) => l.trim())
    .filter(Boolean);
  return (
    lines.find((l) => /PG::|ERROR:|manifest unknown/.test(l)) ??
    lines.find((l) => /error|fatal|refus|denied|unknown/i.test(l) && !/--trace/.test(l)) ??
    lines.at(-1) ??
    f.msg ??
    'failed'
  );
}

function details(r: PlaybookResult) {
  return {
    ok: r.ok,
    exitCode: r.exitCode,
    strategy: r.strategy,
    strategyNote: r.strategyNote ?? null,
    stats: r.stats ?? null,
    changedTasks: r.changedTasks,
    changedNothing: !r.ok && r.untouched,
    eventsGap: r.eventsGap ?? null,
    failures: r.failures.map((f) => ({ task: f.task, msg: f.msg ?? null })),
    log: r.logFile,
  };
}

/** The interesting part of a --check --diff run: diffs, changed and failed tasks, the recap. */
function checkDiffText(log: string): string {
  const keep: string[] = [];
  let inDiff = false;
  for (const l of log.split('\n')) {
    if (/^(---|\+\+\+) (before|after)/.test(l)) inDiff = true;
    if (/^(TASK|PLAY|RUNNING HANDLER) \[/.test(l)) inDiff = false;
    if (inDiff || /^(changed|fatal|failed):|^PLAY RECAP|ok=\d+/.test(l)) keep.push(l);
  }
  return keep.join('\n');
}

/** ansible-playbook with the operators' own playbook, limited to the target's inventory host. */
export const ansibleDriver: Driver = {
  id: 'ansible',
  configSchema: ansibleServiceSchema,
  checks: [ansibleVersionCheck, collectionsCheck, playbookSyntaxCheck],
  doctor: [ansibleProbe],
  previewTitle: 'ansible-playbook --check --diff (best effort: command tasks are skipped in check mode)',

  describeDeploy: (version) => `Run the playbook with ${version}`,

  async deploy(context, t, req): Promise<DeployResult> {
    const r = await runPlaybook(context.runner, {
      ...(await playbookOptions(context, t, req)),
      onEvent: (e) => {
        if (e.event === 'task_start') req.report(`TASK ${e.task}`);
        if (e.event === 'task_result' && (e.changed || e.status !== 'ok')) {
          const why = e.msg && e.status !== 'ok' ? ` — ${e.msg.split('\n')[0]}` : '';
          req.report(`  ${e.status === 'ok' ? 'changed' : e.status}: ${e.task}${why}`);
        }
      },
    });
    const f = r.failures[0];
    const unknown = r.eventsGap ? `; ${r.eventsGap}: what it changed is unknown` : '';
    return {
      ok: r.ok,
      summary: `${r.changedTasks.length} tasks changed (${r.strategy}${r.strategyNote ? `; ${r.strategyNote}` : ''})`,
      failure: r.ok
        ? undefined
        : `the playbook failed${f ? ` at "${f.task}": ${failureLine(f)}` : ` (exit ${r.exitCode})`}${unknown}`,
      hints: [`full log: ${req.logFile}`],
      changedNothing: !r.ok && r.untouched,
      details: details(r),
    };
  },

  async preview(context, t, req): Promise<string> {
    const logFile = req.logFile.replace(/\.log$/, '.check.log');
    const opts = { ...(await playbookOptions(context, t, { ...req, logFile })), check: true, signal: undefined };
    const r = await runPlaybook(context.runner, opts).catch(() => ({ ok: false }));
    const text = checkDiffText(await readFile(logFile, 'utf8').catch(() => ''));
    return text + (r.ok ? '' : '\n(the check run did not complete; see the log)');
  },

  async settle(_ws, t, report) {
    // `compose -f FILE ... run`, as docker's compose plugin shows it ("docker-compose compose -f ..."); the leading
    // `[c]` matches that command, never the shell that runs this pgrep with the pattern in its arguments
    const started = compose(t.paths.dataDir, 'run')
      .slice(1)
      .join(' ')
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const pattern = `[${started[0]}]${started.slice(1)}`;
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    for (;;) {
      const r = await t.remote.exec(['pgrep', '-f', '--', pattern], {
        mutates: false,
        reject: false,
        timeoutMs: 30_000,
      });
      if (r.exitCode !== 0) return;
      const pids = r.stdout.trim().split('\n').join(', ');
      if (Date.now() > deadline) {
        throw new OperationError(
          `${t.host.name}: a command the interrupted playbook started is still running after ` +
            `${SETTLE_TIMEOUT_MS / 60_000} minutes (pids ${pids}): not restoring under it`,
        );
      }
      report(`waiting for what the interrupted playbook started on ${t.host.name} to end (pids ${pids})`);
      await new Promise((res) => setTimeout(res, 2000));
    }
  },

  async stopServices(_ws, t, services) {
    if (services.length) await t.remote.exec(compose(t.paths.dataDir, 'stop', ...services), { mutates: true });
  },
};
