import { HostFacts } from '../../checks/facts.js';
import { listMastodonVersions, type MastodonCatalog } from '../../services/mastodon/catalog.js';
import { notesBetween, type ChangelogSection } from '../../services/mastodon/changelog.js';
import { planUpgradeRules, suggestTargets, type RuleFinding, type TargetSuggestion } from '../../services/mastodon/rules.js';
import type { AnsibleTarget, Workspace } from '../../targets/workspace.js';

export interface PlanStep {
  id: string;
  title: string;
  mutates: boolean;
}

export interface UpgradePlan {
  service: string;
  env: string;
  host: string;
  from: string;
  to: string;
  notes: ChangelogSection[];
  findings: RuleFinding[];
  steps: PlanStep[];
  restoreOnFailure: 'auto' | 'ask' | 'never';
}

export interface VersionChoice {
  current: string;
  catalog: MastodonCatalog;
  suggestions: TargetSuggestion[];
}

/** What the host runs and what it could move to (read from the host and upstream, never from memory). */
export async function readVersionChoice(ws: Workspace, t: AnsibleTarget, includePrerelease: boolean, facts = new HostFacts(t)): Promise<VersionChoice> {
  const current = await facts.runningVersion();
  const catalog = await listMastodonVersions({ runner: ws.runner, url: ws.gitUrl(t.serviceConfig.versions.url), current, includePrerelease: true, notes: 'all' });
  const available = catalog.versions.map((v) => v.parsed);
  return { current, catalog, suggestions: suggestTargets(current, available, { includePrerelease }) };
}

export const UPGRADE_STEPS: PlanStep[] = [
  { id: 'preflight', title: 'Preflight checks', mutates: false },
  { id: 'lock', title: 'Take the lock on the host', mutates: true },
  { id: 'backup', title: 'Safety backup of the database and .env.production (verified)', mutates: false },
  { id: 'apply', title: 'Run the playbook: pull images, pre-deployment migrations, up, post-deployment migrations, restart', mutates: true },
  { id: 'verify', title: 'Verify: /health, instance API version, streaming, API requests', mutates: false },
  { id: 'record', title: 'Record the result in the history on the host, release the lock', mutates: true },
];

export async function planUpgrade(ws: Workspace, t: AnsibleTarget, choice: VersionChoice, to: string, allowPrerelease: boolean, facts = new HostFacts(t)): Promise<UpgradePlan> {
  const [pg, redis] = await Promise.all([facts.postgresVersion().catch(() => undefined), facts.redisVersion().catch(() => undefined)]);
  const findings = planUpgradeRules({
    current: choice.current,
    target: to,
    available: choice.catalog.versions.map((v) => v.parsed),
    postgresVersion: pg,
    redisVersion: redis,
    allowPrerelease,
    service: t.service,
    env: t.env,
  });
  const sections = choice.catalog.versions.flatMap((v) => (v.notes ? [v.notes] : []));
  let notes: ChangelogSection[] = [];
  try {
    notes = notesBetween(sections, choice.current, to);
  } catch {
    notes = [];
  }
  return {
    service: t.service,
    env: t.env,
    host: t.host.name,
    from: choice.current,
    to,
    notes,
    findings,
    steps: UPGRADE_STEPS,
    restoreOnFailure: t.serviceConfig.restoreOnFailure,
  };
}
