import { findBackup } from '../../backup/catalog.js';
import type { Manifest } from '../../backup/manifest.js';
import { HostFacts } from '../../checks/facts.js';
import { readSchemaMark, sameSchema, type SchemaMark } from '../../services/mastodon/schema.js';
import { HistoryStore, type HistoryRecord } from '../../history/records.js';
import { compareMastodonVersions, parseMastodonVersion } from '../../services/mastodon/version.js';
import { openBackupStore, targetDb } from '../../targets/backups.js';
import { InputError, RefusedError } from '../../kernel/errors.js';
import type { AnsibleTarget, Workspace } from '../../targets/workspace.js';
import { UPGRADE_STEPS, type UpgradePlan } from '../upgrade/plan.js';

const RECORD_ID = /^\d{8}T\d{6}Z-[a-z-]+-[0-9a-f]{6}$/;

export interface RollbackChoice {
  plan: UpgradePlan;
  /** The operation being undone. */
  undoes: HistoryRecord | undefined;
  /** Its pre-change backup, when one exists. */
  backup: Manifest | undefined;
  /** true: the database schema changed since that backup; 'unknown' when it cannot be told. */
  schemaMoved: boolean | 'unknown';
}

/**
 * Back to the last version that succeeded before the current one (or the
 * one named: a version, or a history record whose starting point is wanted).
 */
export async function planRollback(ws: Workspace, t: AnsibleTarget, to: string | undefined): Promise<RollbackChoice> {
  const current = await new HostFacts(t).runningVersion();
  const records = await new HistoryStore(t.remote, t.paths.stateDir).list(t.service, t.env, 200);
  const changes = records.filter((r) => r.status === 'succeeded' && (r.operation === 'upgrade' || r.operation === 'rollback' || r.operation === 'promote') && r.from && r.to);
  let undoes: HistoryRecord | undefined;
  let version: string;
  if (to && RECORD_ID.test(to)) {
    undoes = records.find((r) => r.id === to);
    if (!undoes) throw new InputError(`--to: no history record ${to} for ${t.service}/${t.env} (see: coopctl history ${t.service} --env ${t.env})`);
    if (!undoes.from) throw new InputError(`--to: record ${to} (${undoes.operation}) has no version to go back to`);
    version = undoes.from;
  } else if (to) {
    version = parseMastodonVersion(to, '--to').upstream;
    undoes = changes.find((r) => r.from === version);
  } else {
    undoes = changes.find((r) => r.to === current);
    if (!undoes) throw new RefusedError(`no succeeded change to ${current} in the history of ${t.service}/${t.env}: name the version with --to`);
    version = undoes.from!;
  }
  if (compareMastodonVersions(parseMastodonVersion(version, '--to'), parseMastodonVersion(current, 'current version')) >= 0) {
    throw new RefusedError(`${t.service}/${t.env} runs ${current}; ${version} is not older: use coopctl upgrade`);
  }
  let backup: Manifest | undefined;
  if (undoes?.backupId) {
    const store = await openBackupStore(ws);
    backup = await findBackup(store, undoes.backupId, { service: t.service, env: t.env }).catch(() => undefined);
  }
  let schemaMoved: boolean | 'unknown' = 'unknown';
  const before = undoes?.details.schemaBefore as SchemaMark | undefined;
  if (before) {
    const now = await readSchemaMark(t.remote, targetDb(t));
    schemaMoved = !sameSchema(now, before);
  }
  const plan: UpgradePlan = {
    service: t.service,
    env: t.env,
    host: t.host.name,
    from: current,
    to: version,
    notes: [],
    findings: [
      {
        id: 'downgrade',
        level: 'warn',
        message: `going back from ${current} to ${version}${undoes ? ` (undoing ${undoes.id})` : ''}: Mastodon does not support running older code on a newer schema; the pre-upgrade database is the safe way back`,
      },
    ],
    steps: UPGRADE_STEPS.map((s) => (s.id === 'apply' ? { ...s, title: `Run the playbook with ${version}` } : s)),
    restoreOnFailure: t.serviceConfig.restoreOnFailure,
  };
  return { plan, undoes, backup, schemaMoved };
}
