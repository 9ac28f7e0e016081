import { stringify } from 'yaml';
import { parseCalendar } from '../config/calendar.js';
import type { InventoryHost } from '../config/inventory.js';
import type { ScheduleConfig } from '../config/schema.js';
import type { SecretRef } from '../kernel/secrets.js';

/** One timer + service pair of playbooks/roles/coopctl_schedule (its coopctl_schedule_units). */
interface ScheduleUnit {
  name: string;
  kind: 'backup' | 'restore-test';
  service: string;
  env: string;
  on_calendar: string;
  randomized_delay_sec: number;
}

export function scheduleUnits(schedule: ScheduleConfig, pairs: ReadonlyArray<{ service: string; env: string }>) {
  const unit = (kind: ScheduleUnit['kind'], t: { onCalendar: string; randomizedDelay: number }) =>
    pairs.map(
      ({ service, env }): ScheduleUnit => ({
        name: `coopctl-${kind}-${service}-${env}`,
        kind,
        service,
        env,
        on_calendar: t.onCalendar,
        randomized_delay_sec: Math.round(t.randomizedDelay / 1000),
      }),
    );
  return [...unit('backup', schedule.backup), ...unit('restore-test', schedule.restoreTest)];
}

/** How often each kind runs, for the plan (the largest gap between two runs). */
export function schedulePeriods(schedule: ScheduleConfig) {
  return {
    backup: parseCalendar(schedule.backup.onCalendar).periodMs,
    restoreTest: parseCalendar(schedule.restoreTest.onCalendar).periodMs,
  };
}

/** The names of the files the host's coopctl.yaml refers to, in the role's config and secrets directories. */
export const HOST_FILES = {
  config: 'coopctl.yaml',
  inventory: 'inventory.yml',
  knownHosts: 'known_hosts',
  key: 'secrets/id_ed25519',
  identity: 'restore-test-identity',
} as const;

interface HostSecret {
  /** Its file name under secrets/. */
  name: string;
  ref: SecretRef;
  /** Where the operator's coopctl.yaml has it (for messages). */
  at: string[];
}

const isSecretRef = (v: unknown): v is SecretRef =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  ['env', 'file', 'pass'].includes(Object.keys(v)[0]);

type Doc = Record<string, unknown>;
const obj = (v: unknown): Doc => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Doc) : {});

/**
 * The coopctl.yaml of the schedule host, from the operator's (its parsed YAML): what the scheduled backups and
 * restore tests need and nothing more. Every secret becomes a file under secrets/ (the host has no pass store),
 * the backups' identity becomes the host's own restore-test identity, SSH uses the host's key and the known_hosts
 * copied from here (host keys verified, as here), every inventory is the one file of the hosts it needs, and what
 * only an operator's change uses (notices, monitoring, patches, the local secrets settings) is left out.
 */
export function hostConfigDocument(raw: Doc, identity: SecretRef | undefined): { config: Doc; secrets: HostSecret[] } {
  const config = structuredClone(raw);
  for (const key of ['secrets', 'notify', 'monitoring']) delete config[key];
  const ssh = obj(config.ssh);
  for (const key of ['config', 'globalKnownHosts']) delete ssh[key];
  config.ssh = { ...ssh, identityFile: HOST_FILES.key, knownHosts: HOST_FILES.knownHosts, agent: false };
  for (const svc of Object.values(obj(config.services))) {
    for (const env of Object.values(obj(obj(svc).environments))) {
      const e = obj(env);
      e.inventory = HOST_FILES.inventory;
      delete e.patches;
    }
  }
  const backup = obj(config.backup);
  if (backup.restoreTest) obj(backup.restoreTest).inventory = HOST_FILES.inventory;
  if (config.schedule) obj(config.schedule).inventory = HOST_FILES.inventory;
  // The operators' identity never goes there: the host gets its own (schedule.identity), or none.
  const encryption = obj(backup.encryption);
  delete encryption.identity;
  if (config.schedule) delete obj(config.schedule).identity;
  const secrets: HostSecret[] = [];
  const walk = (node: unknown, at: string[]) => {
    for (const [key, value] of Object.entries(obj(node))) {
      if (isSecretRef(value)) {
        const name = [...at, key].join('.');
        secrets.push({ name, ref: value, at: [...at, key] });
        obj(node)[key] = { file: `secrets/${name}` };
      } else walk(value, [...at, key]);
    }
  };
  walk(config, []);
  if (backup.encryption && identity) {
    encryption.identity = { file: `secrets/${HOST_FILES.identity}` };
    secrets.push({ name: HOST_FILES.identity, ref: identity, at: ['schedule', 'identity'] });
  }
  return { config, secrets };
}

/** The inventory of the host's coopctl: the hosts it reaches, with the variables coopctl reads of them. */
export function hostInventory(hosts: readonly InventoryHost[]): string {
  const entry = (h: InventoryHost) => ({
    ansible_host: h.address,
    ansible_port: h.port,
    ansible_user: h.user,
    ...(h.become ? { ansible_become: true, ansible_become_user: h.become.user } : {}),
    ...h.vars,
  });
  const all = { all: { hosts: Object.fromEntries(hosts.map((h) => [h.name, entry(h)])) } };
  return `# Written by coopctl schedule install: the hosts the scheduled runs reach.\n${stringify(all)}`;
}
