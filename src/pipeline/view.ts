import type { Manifest } from '../backup/manifest.js';
import { findBackup } from '../backup/catalog.js';
import { HostFacts } from '../checks/facts.js';
import { HistoryStore, type HistoryRecord } from '../history/records.js';
import { errorMessage } from '../kernel/errors.js';
import { Memo } from '../kernel/memo.js';
import { openBackupStore } from '../backup/configured.js';
import type { TargetFacts } from '../targets/check.js';
import { loadPatchSet, loadRecordedPatchSet, recordedPatchSet, type LoadedPatchSet } from '../config/patches.js';
import type { Finding, Health, SchemaFit, SchemaMark, VersionChoice } from '../targets/profile.js';
import type { SafetyBackups, ServiceProfile, Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';
import { safetyBackupsFor } from './databaseBackups.js';

/** How many records of a target's history a run reads: the rejections in force go back this far. */
const HISTORY_DEPTH = 1000;

/** A target's history records, newest first, with the host's clock as it read them (what ages are measured against). */
interface HostHistory {
  records: HistoryRecord[];
  hostNow: Date;
}

/** The version a change starts from; `finding` says so when it was not read from the running app. */
interface CurrentVersion {
  version: string;
  finding?: Finding;
}

type ChangeReview = Awaited<ReturnType<ServiceProfile['reviewChange']>>;

/**
 * What one run knows of a target, each fact read when first asked and then kept: choosing and planning read
 * only this, so a plan is built from data read once (a fixed view in tests). Only the re-check after the lock
 * (src/pipeline/planHolds.ts) and what a change does read the host again.
 */
export interface TargetView {
  readonly target: Target;
  /** Host facts the checks share (database size, PostgreSQL's version, the running version). */
  readonly facts: TargetFacts;
  /** How a change keeps the target's data safe (the driver's backups, else coopctl's dumps). */
  readonly backups: SafetyBackups;
  history(): Promise<HostHistory>;
  /** What runs: as the service reports it, else (it is down) as its deployment on the host says. */
  current(): Promise<CurrentVersion>;
  /** The service's health now, asked on its host; null: it has no health endpoint. */
  health(): Promise<Health | null>;
  /** What runs and what it could move to (the version source's catalogue). */
  versionChoice(includePrerelease: boolean): Promise<VersionChoice>;
  /** Release notes of (current, to] and the version rules' findings. */
  review(
    choice: VersionChoice,
    to: string,
    opts: { allowPrerelease: boolean; fromChaos?: boolean },
  ): Promise<ChangeReview>;
  /** The patches the config gives the environment, read from the operators' repo; null: none. */
  patches(): LoadedPatchSet | null;
  /** The patches a record's change deployed, read again from the repo; null: none, or no longer as they were. */
  recordedPatches(r: HistoryRecord | undefined): LoadedPatchSet | null;
  /** A backup of this target in the configured store; undefined when it is not there. */
  backup(id: string): Promise<Manifest | undefined>;
  /** Where the schema stands (the profile tells); undefined: it cannot tell. */
  schema(): Promise<SchemaMark | undefined>;
  /** Whether `older` runs on the schema as it is; undefined when the profile cannot tell. */
  schemaFit(older: string, newer: string): Promise<SchemaFit | undefined>;
}

/** The view of a real target: its host, its version source and the operators' repo, each read once. */
export class HostView implements TargetView {
  readonly facts: HostFacts;
  private readonly memo = new Memo();

  constructor(
    readonly ws: Workspace,
    readonly target: Target,
  ) {
    this.facts = new HostFacts(ws, target);
  }

  get backups(): SafetyBackups {
    return this.memo.once('backups', () => safetyBackupsFor(this.ws, this.target));
  }

  history(): Promise<HostHistory> {
    const t = this.target;
    return this.memo.retrying('history', () =>
      new HistoryStore(t.remote, t.paths.stateDir).read(t.service, t.env, HISTORY_DEPTH),
    );
  }

  current(): Promise<CurrentVersion> {
    return this.memo.retrying('current', async () => {
      const t = this.target;
      try {
        return { version: await this.facts.runningVersion() };
      } catch (err) {
        if (!t.profile.deployedVersion) throw err;
        const version = await t.profile.deployedVersion(t).catch(() => {
          throw err;
        });
        const message =
          `${t.service}/${t.env} does not answer (${errorMessage(err).split('\n')[0]}): ` +
          `taking ${version} from its deployment on ${t.host.name}`;
        return { version, finding: { id: 'service-down', level: 'warn', message } };
      }
    });
  }

  health(): Promise<Health | null> {
    return this.memo.retrying('health', () => this.target.profile.health(this.target));
  }

  versionChoice(includePrerelease: boolean): Promise<VersionChoice> {
    const { ws, target: t, facts } = this;
    return this.memo.retrying(`choice:${includePrerelease}`, () =>
      t.profile.versionChoice(ws, t, { includePrerelease, facts }),
    );
  }

  review(choice: VersionChoice, to: string, opts: { allowPrerelease: boolean; fromChaos?: boolean }) {
    return this.target.profile.reviewChange(this.target, choice, to, { ...opts, facts: this.facts, context: this.ws });
  }

  patches(): LoadedPatchSet | null {
    return this.memo.once('patches', () => loadPatchSet(this.ws.loaded, this.target.service, this.target.env));
  }

  recordedPatches(r: HistoryRecord | undefined): LoadedPatchSet | null {
    const set = recordedPatchSet(r);
    return set ? loadRecordedPatchSet(this.ws.loaded, set) : null;
  }

  async backup(id: string): Promise<Manifest | undefined> {
    const store = await openBackupStore(this.ws);
    return findBackup(store, id, { service: this.target.service, env: this.target.env }).catch(() => undefined);
  }

  schema(): Promise<SchemaMark | undefined> {
    const t = this.target;
    return this.memo.retrying('schema', async () =>
      t.profile.schemaMark ? t.profile.schemaMark(t.remote, t) : undefined,
    );
  }

  async schemaFit(older: string, newer: string): Promise<SchemaFit | undefined> {
    const t = this.target;
    return t.profile.schemaFit?.(this.ws, t, older, newer);
  }
}

/** The views of one run: a target resolved and viewed once, however many steps ask for it. */
export class RunView {
  private readonly memo = new Memo();

  constructor(readonly ws: Workspace) {}

  of(service: string, env: string): Promise<HostView> {
    return this.memo.retrying(
      `${service}/${env}`,
      async () => new HostView(this.ws, await this.ws.target(service, env)),
    );
  }
}
