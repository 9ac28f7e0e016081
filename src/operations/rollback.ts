import type { Manifest } from '../backup/manifest.js';
import { newestSucceededChange, type HistoryRecord } from '../history/records.js';
import { InputError, RefusedError } from '../kernel/errors.js';
import { type ChangePlan, schemaChanged } from '../pipeline/change.js';
import { restoreDatabaseStep } from '../pipeline/library.js';
import type { TargetView } from '../pipeline/view.js';
import type { Finding, SchemaMark } from '../targets/profile.js';
import { assemblePlan } from './assemble.js';

const RECORD_ID = /^\d{8}T\d{6}Z-[a-z-]+-[0-9a-f]{6}$/;

export interface RollbackChoice {
  current: string;
  /** Set when the current version was not read from the running service (it is down). */
  currentFrom?: Finding;
  /** The version to go back to. */
  to: string;
  /** The operation being undone. */
  undoes: HistoryRecord | undefined;
  /** Its pre-change backup, when one exists. */
  backup: Manifest | undefined;
  /** true: the database schema changed since that backup; 'unknown' when it cannot be told. */
  schemaMoved: boolean | 'unknown';
  /** Set when the profile tells the older version runs on the schema as it is (only pre-deployment migrations). */
  schemaFits?: string;
}

/**
 * Back to the last version that succeeded before the current one (or the
 * one named: a version, or a history record whose starting point is wanted).
 */
export async function chooseRollback(view: TargetView, to: string | undefined): Promise<RollbackChoice> {
  const t = view.target;
  const p = t.profile;
  const [{ version: current, finding: currentFrom }, { records }] = await Promise.all([view.current(), view.history()]);
  const where = `${t.service}/${t.env}`;
  let undoes: HistoryRecord | undefined;
  let version: string;
  if (to && RECORD_ID.test(to)) {
    undoes = records.find((r) => r.id === to);
    if (!undoes)
      throw new InputError(
        `--to: no history record ${to} for ${where} (see: coopctl history ${t.service} --env ${t.env})`,
      );
    if (!undoes.from) throw new InputError(`--to: record ${to} (${undoes.operation}) has no version to go back to`);
    version = undoes.from;
  } else if (to) {
    version = p.parseVersion(to, '--to');
    undoes = newestSucceededChange(records, { from: version });
  } else {
    undoes = newestSucceededChange(records, { to: current });
    if (!undoes)
      throw new RefusedError(
        `no succeeded change to ${current} in the history of ${where}: name the version with --to`,
      );
    version = undoes.from!;
  }
  if (p.compareVersions(p.parseVersion(version, '--to'), p.parseVersion(current, 'current version')) >= 0) {
    throw new RefusedError(`${where} runs ${current}; ${version} is not older: use coopctl upgrade`);
  }
  const backup = undoes?.backupId ? await view.backup(undoes.backupId) : undefined;
  let schemaMoved: boolean | 'unknown' = 'unknown';
  const before = undoes?.details.schemaBefore as SchemaMark | undefined;
  const now = before && (await view.schema());
  if (before && now) schemaMoved = schemaChanged(now, before);
  // As a failed change's recovery judges it: the older code runs on migrations made for it to run on.
  const fit = schemaMoved !== false ? await view.schemaFit(version, current).catch(() => undefined) : undefined;
  const schemaFits = fit?.fits ? fit.reason : undefined;
  return { current, currentFrom, to: version, undoes, backup, schemaMoved, schemaFits };
}

/** preflight ─ [lock] ─ safety backup ─ (the pre-change database) ─ deploy the older version ─ verify ─ [record]. */
export function planRollback(view: TargetView, c: RollbackChoice, restoreDb: boolean): ChangePlan {
  const undoing = c.undoes ? ` (undoing ${c.undoes.id})` : '';
  const findings: ChangePlan['findings'] = [
    ...(c.currentFrom ? [c.currentFrom] : []),
    {
      id: 'downgrade',
      level: 'warn',
      message:
        `going back from ${c.current} to ${c.to}${undoing}: older code on a newer database schema is not supported; ` +
        'the pre-upgrade database is the safe way back',
    },
  ];
  if (!restoreDb && c.schemaFits) {
    findings.push({ id: 'keep-db', level: 'ok', message: `keeping the current database: ${c.schemaFits}` });
  } else if (!restoreDb && c.schemaMoved !== false) {
    const newer = c.schemaMoved === true ? `, whose schema is newer than ${c.to} expects` : '';
    findings.push({ id: 'keep-db', level: 'warn', message: `keeping the current database${newer}` });
  }
  const restore =
    restoreDb && c.backup
      ? restoreDatabaseStep(
          c.backup.id,
          `Restore the database of ${c.backup.id}, then swap (the current one is kept renamed)`,
        )
      : undefined;
  return assemblePlan(view, {
    operation: 'rollback',
    from: c.current,
    to: c.to,
    findings,
    preflight: { deployVersion: c.to },
    restore,
    patches: view.patches(),
    // what runs now was deployed by the change this undoes, with the patches its record names
    patchesBefore: view.recordedPatches(c.undoes),
    recordFields: {
      undoes: c.undoes?.id ?? null,
      restoreDb,
      ...(!restoreDb && c.schemaFits ? { databaseKept: c.schemaFits } : {}),
    },
  });
}
