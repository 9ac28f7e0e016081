import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { configSecret, secretsEnvironment } from '../../../backup/configured.js';
import { runPlaybook } from '../../../drivers/ansible/playbook.js';
import { ansibleVersion } from '../../../drivers/ansible/tool.js';
import type { InventoryHost } from '../../../config/inventory.js';
import { ConfigError, OperationError } from '../../../kernel/errors.js';
import { operationLogFile } from '../../../kernel/logs.js';
import { passStoreVariables } from '../../../kernel/secrets.js';
import { formatDuration } from '../../../kernel/validate.js';
import { isScheduled, scheduledPairs } from '../../../operations/schedule.js';
import {
  HOST_FILES,
  hostConfigDocument,
  hostInventory,
  schedulePeriods,
  scheduleUnits,
} from '../../../operations/scheduleHost.js';
import type { CommandContext } from '../../context.js';

/** coopctl's own package directory (package.json, dist/), which `npm pack` packs for the schedule host. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * `schedule install`: the timers of `schedule:` on its host, through playbooks/schedule.yml, with coopctl itself
 * (`npm pack` of this one), a coopctl.yaml made for the host (its secrets as files, its own SSH key and restore-test
 * identity) and the operator's known_hosts.
 */
export async function run(ctx: CommandContext) {
  const ws = ctx.workspace();
  const { loaded } = ws;
  const schedule = ws.config.schedule;
  if (!schedule) throw new ConfigError(`${loaded.file}: no schedule: block (see README, "schedule")`);
  if (ws.config.backup.encryption && !schedule.identity) {
    throw loaded.error(['schedule'], 'identity: required: the restore tests decrypt with the host’s own age identity');
  }
  const pairs = scheduledPairs(ws);
  const targets = [];
  for (const { service, env } of ws.select()) {
    const t = await ws.target(service, env);
    if (isScheduled(schedule, pairs, t)) targets.push(t);
  }
  if (targets.length === 0) throw loaded.error(['schedule'], 'no service × environment with a database to schedule');
  const hostOf = async (where: string[], inventory: string, name: string) => {
    const h = (await ws.inventories.get(loaded.resolvePath(inventory))).hosts.get(name);
    if (!h) throw loaded.error([...where, 'host'], `no host "${name}" in ${inventory}`);
    return h;
  };
  const scheduleHost = await hostOf(['schedule'], schedule.inventory, schedule.host);
  const reached = new Map<string, InventoryHost>(targets.map((t) => [t.host.name, t.host]));
  const rt = ws.config.backup.restoreTest;
  if (rt) reached.set(rt.host, await hostOf(['backup', 'restoreTest'], rt.inventory, rt.host));
  const units = scheduleUnits(schedule, targets);
  const periods = schedulePeriods(schedule);
  const p = ctx.printer;
  p.info(
    `${units.length} timers on ${scheduleHost.name}: backups ${schedule.backup.onCalendar} ` +
      `(every ${formatDuration(periods.backup)} at most), restore tests ${schedule.restoreTest.onCalendar} ` +
      `(every ${formatDuration(periods.restoreTest)}), STALE past that + ${formatDuration(schedule.grace)}`,
  );
  for (const u of units) p.info(`  ${u.name}.timer: ${u.on_calendar}`);
  if (ctx.global.dryRun) {
    p.info('! skipped (dry run): npm pack, ansible-playbook playbooks/schedule.yml');
    if (ctx.global.json) p.json({ ok: true, dryRun: true, host: scheduleHost.name, units });
    return;
  }

  const { config, secrets } = hostConfigDocument(parse(await readFile(loaded.file, 'utf8')), schedule.identity);
  const secretFiles = await Promise.all(
    secrets.map(async (s) => ({
      name: s.name,
      content: await configSecret(ws, s.ref, s.at, s.name === HOST_FILES.identity ? 'document' : 'value'),
    })),
  );
  const knownHosts = ws.sshFiles.knownHostsFile ?? path.join(homedir(), '.ssh', 'known_hosts');
  const tmp = await mkdtemp(path.join(tmpdir(), 'coopctl-schedule-'));
  try {
    const pack = await ws.runner.run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
      mutates: false,
      cwd: PACKAGE_ROOT,
    });
    const [{ filename }] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
    const logFile = operationLogFile(process.env, 'schedule', scheduleHost.name, 'install');
    const r = await runPlaybook(ws.runner, {
      playbook: loaded.resolvePath(schedule.playbook),
      inventory: loaded.resolvePath(schedule.inventory),
      limit: [scheduleHost.name],
      extraVars: {
        coopctl_schedule_user: schedule.user,
        coopctl_schedule_package: path.join(tmp, path.basename(filename)),
        coopctl_schedule_units: units,
        coopctl_schedule_prune: schedule.prune,
      },
      files: {
        coopctl_schedule_config_src: [
          { name: HOST_FILES.config, content: `# Written by coopctl schedule install.\n${stringify(config)}` },
          { name: HOST_FILES.inventory, content: hostInventory([...reached.values()]) },
          { name: HOST_FILES.knownHosts, content: existsSync(knownHosts) ? await readFile(knownHosts, 'utf8') : '' },
        ],
        coopctl_schedule_secrets_src: secretFiles,
      },
      diff: true,
      logFile,
      ansibleVersion: await ansibleVersion(ws.runner).catch(() => undefined),
      ssh: ws.sshFiles,
      env: passStoreVariables(secretsEnvironment(ws)),
      onEvent: (e) => {
        if (e.event === 'task_start') p.info(`  ${String(e.task)}`);
      },
    });
    if (!r.ok) {
      const f = r.failures[0];
      throw new OperationError(`the schedule playbook failed${f ? ` at "${f.task}"` : ` (exit ${r.exitCode})`}`, {
        hints: [`full log: ${logFile}`],
      });
    }
    const pubkey = /coopctl_schedule_pubkey=(ssh-ed25519 [^"\\\n]+)/.exec(await readFile(logFile, 'utf8'))?.[1];
    if (ctx.global.json) return p.json({ ok: true, host: scheduleHost.name, units, publicKey: pubkey ?? null });
    p.out(`installed ${units.length} timers on ${scheduleHost.name}`);
    p.out(
      `authorize the units' key on ${[...reached.keys()].join(', ')} ` +
        `(as each host's inventory user):\n${pubkey ?? '(see the log)'}`,
    );
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
