import { findBackup } from '../backup/catalog.js';
import type { Manifest } from '../backup/manifest.js';
import { HistoryStore, succeededChanges, type HistoryRecord } from '../history/records.js';
import { InputError, RefusedError } from '../kernel/errors.js';
import { type ChangePlan, schemaChanged } from '../pipeline/change.js';
import { safetyBackupsFor } from '../pipeline/databaseBackups.js';
import {
  deployStage,
  preflightStage,
  restoreDatabaseStage,
  safetyBackupStage,
  verifyStage,
} from '../pipeline/library.js';
import { openBackupStore } from '../backup/configured.js';
import { loadPatchSet, loadRecordedPatchSet, recordedPatchSet } from '../config/patches.js';
import type { Finding, SchemaMark } from '../targets/profile.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';
import { currentVersion } from './current.js';
import { patchesFinding } from './patches.js';

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
export async function chooseRollback(ws: Workspace, t: Target, to: string | undefined): Promise<RollbackChoice> {
  const p = t.profile;
  const { version: current, finding: currentFrom } = await currentVersion(ws, t);
  const records = await new HistoryStore(t.remote, t.paths.stateDir).list(t.service, t.env, 200);
  const changes = succeededChanges(records);
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
    undoes = changes.find((r) => r.from === version);
  } else {
    undoes = changes.find((r) => r.to === current);
    if (!undoes)
      throw new RefusedError(
        `no succeeded change to ${current} in the history of ${where}: name the version with --to`,
      );
    version = undoes.from!;
  }
  if (p.compareVersions(p.parseVersion(version, '--to'), p.parseVersion(current, 'current version')) >= 0) {
    throw new RefusedError(`${where} runs ${current}; ${version} is not older: use coopctl upgrade`);
  }
  let backup: Manifest | undefined;
  if (undoes?.backupId) {
    const store = await openBackupStore(ws);
    backup = await findBackup(store, undoes.backupId, { service: t.service, env: t.env }).catch(() => undefined);
  }
  let schemaMoved: boolean | 'unknown' = 'unknown';
  const before = undoes?.details.schemaBefore as SchemaMark | undefined;
  if (before && p.schemaMark) {
    const now = await p.schemaMark(t.remote, t);
    schemaMoved = schemaChanged(now, before);
  }
  // As a failed change's recovery judges it: the older code runs on migrations made for it to run on.
  const fit =
    schemaMoved !== false && p.schemaFit
      ? await p.schemaFit(ws, t, version, current).catch(() => undefined)
      : undefined;
  const schemaFits = fit?.fits ? fit.reason : undefined;
  return { current, currentFrom, to: version, undoes, backup, schemaMoved, schemaFits };
}

/** preflight ─ [lock] ─ safety backup ─ (the pre-change database) ─ deploy the older version ─ verify ─ [record]. */
export function planRollback(ws: Workspace, t: Target, c: RollbackChoice, restoreDb: boolean): ChangePlan {
  const backups = safetyBackupsFor(ws, t);
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
      ? [
          restoreDatabaseStage(
            c.backup.id,
            `Restore the database of ${c.backup.id}, then swap (the current one is kept renamed)`,
          ),
        ]
      : [];
  const patches = loadPatchSet(ws.loaded, t.service, t.env);
  const undone = recordedPatchSet(c.undoes);
  return {
    operation: 'rollback',
    service: t.service,
    env: t.env,
    host: t.host.name,
    from: c.current,
    to: c.to,
    notes: [],
    findings: [...findings, ...patchesFinding(patches, c.to)],
    stages: [
      preflightStage({ deployVersion: c.to }),
      ...safetyBackupStage(backups, t, c.current),
      ...restore,
      deployStage(t, c.to, undefined, patches),
      verifyStage(c.to, patches),
    ],
    backups,
    patches,
    // what runs now was deployed by the change this undoes, with the patches its record names
    patchesBefore: undone ? loadRecordedPatchSet(ws.loaded, undone) : null,
    recordFields: {
      patchSet: patches?.set ?? null,
      undoes: c.undoes?.id ?? null,
      restoreDb,
      ...(!restoreDb && c.schemaFits ? { databaseKept: c.schemaFits } : {}),
    },
    restoreOnFailure: t.serviceConfig.restoreOnFailure,
  };
}
