import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { SANDBOX_REALM } from '../doubles/keycloak.js';
import type { SandboxLayout } from './layout.js';
import { PASS_ENTRIES, passEnv } from './passStore.js';
import { repoRoot } from './paths.js';
import { operatorSsh, type SandboxState } from './state.js';
import { APP_DATABASES } from './coopcloud/appDatabases.js';
import { APP_VOLUMES } from './coopcloud/volumes.js';

/** Per-host variables coopctl reads from the inventory (paths inside the host's root). */
export function coopctlHostVars(hostRoot: string): Record<string, string> {
  return {
    coopctl_state_dir: path.join(hostRoot, 'var/lib/coopctl'),
    coopctl_tmp_dir: path.join(hostRoot, 'tmp'),
    coopctl_mdstat: path.join(hostRoot, 'proc/mdstat'),
    coopctl_reboot_required: path.join(hostRoot, 'var/run/reboot-required'),
    coopctl_backup_dir: path.join(hostRoot, 'var/backups/coopctl'),
  };
}

export function writeInventory(
  layout: SandboxLayout,
  state: SandboxState,
  extraVars: (host: string) => Record<string, unknown>,
): void {
  const hostEntry = (name: string) => {
    const h = state.hosts.find((x) => x.name === name)!;
    return {
      // With a shaped link, the relay in front of the host (known_hosts names it with the host's key).
      ansible_host: operatorSsh(h).address,
      ansible_port: operatorSsh(h).port,
      ansible_user: h.login ?? state.user,
      ansible_ssh_private_key_file: layout.ssh.identity,
      // The sandbox pins its own host keys: strict checking against its known_hosts, never "no".
      ansible_ssh_common_args: `-F ${layout.ssh.config} -o UserKnownHostsFile=${layout.ssh.knownHosts} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`,
      // A host with a login of its own is reached as production's are: an ordinary user, sudo to root.
      ansible_become: h.login !== undefined,
      ansible_python_interpreter: '/usr/bin/python3',
      ...coopctlHostVars(layout.host(name)),
      ...extraVars(name),
    };
  };
  const group = (kind: string) =>
    Object.fromEntries(state.hosts.filter((h) => h.kind === kind).map((h) => [h.name, hostEntry(h.name)]));
  const inventory = {
    all: {
      children: {
        mastodon: { hosts: group('mastodon') },
        coopcloud: { hosts: group('coopcloud') },
      },
    },
  };
  mkdirSync(path.dirname(layout.inventory), { recursive: true });
  writeFileSync(
    layout.inventory,
    `# Written by \`coopctl sandbox up\`: the sandbox hosts, as an Ansible inventory.\n${stringify(inventory)}`,
  );
}

/** The repo's patch raising the post length limit, enabled on alpha. */
export const POST_LENGTH_PATCH = ['patches', 'mastodon', 'post-length-2000.patch'];

// source: the repository's coopctl.yaml (auth and wiki: engine mariadb, user root, the tables of their users'
// data), as the operators' own file has them; bonfire: PostgreSQL as postgres
/** The `database:` block of an app's service, as the operators' coopctl.yaml has it for its recipe. */
function appDatabase(recipe: string) {
  const { engine, name, tables } = APP_DATABASES[recipe];
  return engine === 'mariadb'
    ? { engine, name, user: 'root', container: 'db', tables }
    : { name, user: 'postgres', container: 'db', tables };
}

/** A sandbox Mastodon's LOCAL_DOMAIN (the playbook's mastodon_domain, as world.ts writes the inventory). */
export const sandboxMastodonDomain = (host: string) => `${host}.sandbox`;

export function writeSandboxConfig(layout: SandboxLayout, state: SandboxState, ageRecipient: string): void {
  const inv = path.relative(layout.root, layout.inventory);
  const health = (port: number, address = '127.0.0.1') => ({
    url: `http://${address}:${port}`,
    timeout: '60s',
    requestTimeout: '4s',
    latencyMs: 1500,
    requests: 3,
  });
  const mastodonEnvs = Object.fromEntries(
    state.hosts
      .filter((h) => h.kind === 'mastodon')
      .map((h) => {
        // The public URL: the host's nginx, as in production (older sandboxes have none).
        const url = h.proxy ?? h.web!;
        // alpha tries social.coop's patches before prod (the repo's coopctl.yaml does the same)
        const patches = h.name === 'alpha' ? { patches: [path.join(repoRoot(), ...POST_LENGTH_PATCH)] } : {};
        // WebFinger of the seeded admin account (mastodon/host.ts seedMastodonData) after every change
        const federation = { account: 'admin', domain: sandboxMastodonDomain(h.name) };
        const checks = { ...health(url.port, url.address), federation };
        return [h.name, { inventory: inv, host: h.name, health: checks, ...patches }];
      }),
  );
  const byService = new Map<string, Record<string, unknown>>();
  for (const app of state.coopcloud.apps) {
    const envs = (byService.get(app.name) ?? {}) as Record<string, unknown>;
    for (const env of app.envs) {
      envs[env] = {
        server: state.coopcloud.server,
        domain: app.domain,
        inventory: inv,
        host: state.coopcloud.host,
        health: health(app.port),
      };
    }
    byService.set(app.name, envs);
  }
  const recipes = new Map(state.coopcloud.apps.map((a) => [a.name, a.recipe]));
  const pass = passEnv(layout);
  const config = {
    stateDir: '/var/lib/coopctl',
    // its own pass store, named here so that a shell that exports neither variable finds it
    secrets: {
      passwordStore: path.relative(layout.root, pass.PASSWORD_STORE_DIR),
      gnupgHome: path.relative(layout.root, pass.GNUPGHOME),
    },
    ssh: {
      // An operator's setup: the passphrase-protected key is used through the agent the ssh_config names.
      config: 'ssh/config',
      knownHosts: 'ssh/known_hosts',
      identityFile: 'ssh/id_ed25519',
      connectTimeout: '8s',
      commandTimeout: '10m',
      parallel: 16,
    },
    abra: {
      bin: path.relative(layout.root, path.join(layout.bin, 'abra')),
      dir: path.relative(layout.root, layout.abraDir),
    },
    backup: {
      store: 'local',
      stores: {
        local: { type: 'local', dir: path.relative(layout.root, layout.backups) },
        s3: {
          type: 's3',
          endpoint: state.s3.endpoint ?? `http://127.0.0.1:${state.s3.port}`,
          // The hosts reach the store over their own link (with namespaces: another address).
          ...(state.s3.hostEndpoint ? { hostEndpoint: state.s3.hostEndpoint } : {}),
          bucket: state.s3.bucket,
          forcePathStyle: true,
          accessKeyId: { pass: PASS_ENTRIES.s3AccessKey },
          secretAccessKey: { pass: PASS_ENTRIES.s3SecretKey },
        },
      },
      encryption: { recipients: [ageRecipient], identity: { pass: PASS_ENTRIES.ageIdentity } },
      retention: { keepLast: 5, keepDailyDays: 14 },
      restoreTest: { inventory: inv, host: 'alpha' },
    },
    ...(state.matrix
      ? {
          notify: {
            matrix: {
              homeserver: `http://127.0.0.1:${state.matrix.port}`,
              room: state.matrix.room,
              token: { pass: PASS_ENTRIES.matrixToken },
              timeout: '3s',
            },
          },
        }
      : {}),
    services: {
      mastodon: {
        driver: 'ansible',
        playbook: path.join(repoRoot(), 'playbooks', 'mastodon.yml'),
        versions: { type: 'git', url: path.join(layout.upstream, 'mastodon.git') },
        database: {
          name: 'mastodon_production',
          user: 'postgres',
          container: 'db',
          tables: ['accounts', 'statuses', 'users'],
        },
        promotion: ['alpha', 'prod'],
        environments: mastodonEnvs,
      },
      ...Object.fromEntries(
        [...byService].map(([name, envs]) => [
          name,
          {
            driver: 'abra',
            recipe: recipes.get(name),
            ...(name === 'bonfire' && byService.has('auth') ? { sso: { provider: 'auth', realm: SANDBOX_REALM } } : {}),
            database: appDatabase(recipes.get(name)!),
            ...appVolumesConfig(recipes.get(name)!),
            ...(envs.alpha && envs.prod ? { promotion: ['alpha', 'prod'] } : {}),
            environments: envs,
          },
        ]),
      ),
    },
  };
  writeFileSync(
    layout.config,
    `# Written by \`coopctl sandbox up\` for the sandbox under ${layout.root}.\n# Use it with: coopctl -c ${layout.config} status\n` +
      stringify(config),
  );
}

/** `volumes:` of an app whose recipe has a data volume on hypha (coopcloud/volumes.ts), as coopctl.yaml names it. */
function appVolumesConfig(recipe: string): { volumes?: string[] } {
  const volume = APP_VOLUMES[recipe];
  return volume ? { volumes: [volume] } : {};
}
