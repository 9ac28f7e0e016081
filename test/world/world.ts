import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { ANSIBLE_STRICT_ENV } from '../../src/config/inventory.js';
import {
  defaultCoopCloudApps,
  prepareCoopCloud,
  startCoopCloudHealth,
  stopCoopCloudHealth,
  writeAbraWrapper,
} from './coopcloud/server.js';
import { appDatabaseProcesses, startAppDatabases, stopAppDatabases } from './coopcloud/appDatabases.js';
import { sandboxMastodonDomain, writeInventory, writeSandboxConfig } from './configFiles.js';
import { sandboxLayout, type SandboxLayout } from './layout.js';
import { repoRoot, worldScript } from './paths.js';
import {
  HEALTHY_MDSTAT,
  mastodonHostVars,
  prepareMastodonHost,
  sandboxMastodonSecrets,
  seedMastodonData,
  startMastodonHost,
  stopMastodonHost,
} from './mastodon/host.js';
import { prepareNginx, startNginx, stopNginx } from './mastodon/nginx.js';
import { createMastodonUpstream } from './mastodon/upstream.js';
import { describeLink, shapeLinks, startRelays, stopRelays, STORE_PORTS } from './links.js';
import { freePort, readBanner, waitForListener } from './net.js';
import {
  connectToStore,
  createNetns,
  deleteNetns,
  inNetns,
  linkExists,
  netnsExists,
  netnsSupported,
  sandboxTag,
} from './netns.js';
import { hostToken } from '../../src/remote/knownHosts.js';
import { InputError } from '../../src/kernel/errors.js';
import { createMatrix, MATRIX_ROOM, matrixRunning, startMatrix, stopMatrix } from './matrix.js';
import { createPassStore, PASS_ENTRIES, stopGpgAgent } from './passStore.js';
import { isRunning, readPid, spawnDetached, stopPidFile } from './processes.js';
import { prepareSshd, sshdFiles, startSshd, stopSshd } from './sshd.js';
import { createOperatorKey, startAgent, stopAgent } from './agent.js';
import { becomeLogin, becomeUnsupported, createBecomeLogin, removeBecomeLogin } from './become.js';
import { type LinkName, operatorSsh, readState, writeState, type SandboxHost, type SandboxState } from './state.js';

/**
 * nginx in front of a Mastodon host. On loopback its port was picked free a while ago and another process
 * (a parallel test's sandbox) may have taken it since: then it gets another one, before the config names it.
 */
async function startProxy(root: string, h: SandboxHost): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    prepareNginx(root, { listen: h.proxy!, web: h.web!, streaming: h.streaming! });
    try {
      startNginx(root, h.netns?.ns);
      return;
    } catch (err) {
      if (h.netns || attempt >= 3 || !/Address already in use/.test((err as Error).message)) throw err;
      h.proxy = { ...h.proxy!, port: await freePort() };
    }
  }
}

/** Production runs one compose service per group of sidekiq queues. */
const PRODUCTION_SIDEKIQ = [
  { name: 'sidekiq-default', concurrency: 10, queues: ['default', 'ingress', 'scheduler', 'fasp'] },
  { name: 'sidekiq-push', concurrency: 10, queues: ['push', 'pull'] },
  { name: 'sidekiq-mailers', concurrency: 5, queues: ['mailers'] },
];

export const INITIAL_MASTODON_VERSION = '4.4.7';
export const COOPCLOUD_SERVER = 'hypha.sandbox';
const S3_BUCKET = 'coopctl-backups';

export interface UpOptions {
  dir: string;
  extraHosts?: number;
  /** Hosts in network namespaces; default: when root and `ip netns` works. */
  netns?: boolean;
  /** How the links are shaped (netns mode only); default home, and as built when the sandbox exists. */
  link?: LinkName;
  log?: (line: string) => void;
}

function hostEnv(layout: SandboxLayout, name: string): Record<string, string> {
  const root = layout.host(name);
  // SHLVL=1: bash then counts as a nested shell and skips the user's ~/.bashrc, so the
  // sandbox hosts behave like clean servers, not like the developer's own account.
  return {
    PATH: `${path.join(root, 'bin')}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
    COOPCTL_SANDBOX_ROOT: root,
    SHLVL: '1',
  };
}

/** The host reached as an ordinary user with sudo, when the sandbox can make one (root, sudo installed). */
const BECOME_HOST = 'alpha';

function loginOf(layout: SandboxLayout, h: SandboxHost) {
  return becomeLogin(sandboxTag(layout.root), layout.host(h.name));
}

function sshdSpec(layout: SandboxLayout, h: SandboxHost) {
  return {
    dir: path.join(layout.host(h.name), 'etc', 'ssh'),
    address: h.ssh.address,
    port: h.ssh.port,
    authorizedKeys: h.login ? loginOf(layout, h).authorizedKeys : layout.ssh.authorizedKeys,
    env: hostEnv(layout, h.name),
    netns: h.netns?.ns,
  };
}

function writeSecrets(
  layout: SandboxLayout,
  ageIdentity: string,
  ageRecipient: string,
  s3Url: string,
  matrixToken: string,
): void {
  mkdirSync(layout.secrets, { recursive: true, mode: 0o700 });
  // pass convention: the value on the first line, metadata after it. s3rver's fixed
  // credentials only open the sandbox's own store.
  const s3 = (what: string) => `S3RVER\nurl: ${s3Url}\nnote: s3rver's fixed ${what}\n`;
  const created = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  createPassStore(layout, {
    [PASS_ENTRIES.s3AccessKey]: s3('access key id'),
    [PASS_ENTRIES.s3SecretKey]: s3('secret access key'),
    // What `age-keygen` writes, stored with `pass insert -m`: the key is on the third line.
    [PASS_ENTRIES.ageIdentity]: `# created: ${created}\n# public key: ${ageRecipient}\n${ageIdentity}\n`,
    [PASS_ENTRIES.matrixToken]: `${matrixToken}\nuser: @coopctl:matrix.sandbox\nnote: the notices' bot account\n`,
  });
}

/** s3rver: on loopback, or in the object store's own namespace (reached over the links). */
export function startS3(layout: SandboxLayout, s3: SandboxState['s3']): Promise<void> {
  mkdirSync(layout.s3.dir, { recursive: true });
  const args = ['--dir', path.join(layout.s3.dir, 'data'), '--port', String(s3.port), '--bucket', S3_BUCKET];
  if (s3.netns) args.push('--address', '0.0.0.0');
  const child = spawnDetached(
    inNetns(s3.netns?.ns, [process.execPath, worldScript('doubles/s3.js'), ...args]),
    { log: layout.s3.log, pidFile: layout.s3.pidFile },
    { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  );
  return waitForListener('s3rver', { host: s3.netns?.address ?? '127.0.0.1', port: s3.port }, child, layout.s3.log);
}

/** Runs the production playbook against the sandbox's Mastodon hosts. */
export function deployMastodon(layout: SandboxLayout, hosts: string[], version: string): void {
  try {
    execFileSync(
      'ansible-playbook',
      [
        '-i',
        layout.inventory,
        '-l',
        hosts.join(','),
        '-e',
        `mastodon_version=${version}`,
        path.join(repoRoot(), 'playbooks', 'mastodon.yml'),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...ANSIBLE_STRICT_ENV, ANSIBLE_PIPELINING: '1', ANSIBLE_GATHERING: 'explicit' },
        cwd: path.join(repoRoot(), 'playbooks'),
        maxBuffer: 64 * 1024 * 1024,
      },
    );
  } catch (err) {
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    const lines = out.split('\n').filter((l) => /fatal|FAILED|UNREACHABLE|ERROR|RECAP|ok=/.test(l));
    throw new Error(`the first deploy with the playbook failed:\n${lines.slice(-12).join('\n')}`);
  }
}

export async function sandboxUp(opts: UpOptions): Promise<SandboxState> {
  const layout = sandboxLayout(opts.dir);
  const log = opts.log ?? (() => {});
  if (existsSync(layout.state)) {
    log(`sandbox exists at ${layout.root}: starting what is not running`);
    return restart(layout, opts.link, log);
  }
  try {
    return await build(layout, opts, log);
  } catch (err) {
    // Leave nothing running behind a half-built sandbox; keep its files for inspection.
    await stopEverything(layout).catch(() => {});
    throw err;
  }
}

async function build(layout: SandboxLayout, opts: UpOptions, log: (l: string) => void): Promise<SandboxState> {
  const useNetns = opts.netns ?? netnsSupported();
  if (opts.netns && !netnsSupported())
    throw new InputError('--netns: network namespaces need root and a working `ip netns`');
  if (!useNetns && opts.link !== undefined && opts.link !== 'none')
    throw new InputError(`--link ${opts.link}: shaping links needs the hosts in network namespaces (root)`);
  const link: LinkName = useNetns ? (opts.link ?? 'home') : 'none';
  worldScript('doubles/s3.js'); // fails early, with the fix, when the test world is not built
  mkdirSync(layout.root, { recursive: true });
  chmodSync(layout.root, 0o755);
  mkdirSync(layout.ssh.dir, { recursive: true, mode: 0o700 });
  mkdirSync(layout.secrets, { recursive: true, mode: 0o700 });
  const clientKey = createOperatorKey(layout.ssh.agent, 'coopctl-sandbox-operator');
  writeFileSync(layout.ssh.authorizedKeys, `${clientKey}\n`);
  startAgent(layout.ssh.agent);
  writeFileSync(layout.ssh.config, `Host *\n  IdentityAgent ${layout.ssh.agent.socket}\n`);
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);

  const extra = Math.max(0, Math.min(Number(opts.extraHosts ?? 0), 64));
  const mastodonNames = ['alpha', 'prod', ...Array.from({ length: extra }, (_, i) => `extra${i + 1}`)];
  const hosts: SandboxHost[] = [];
  const tag = sandboxTag(layout.root);
  for (const [i, name] of [...mastodonNames, 'hypha'].entries()) {
    const kind = name === 'hypha' ? 'coopcloud' : 'mastodon';
    if (useNetns) {
      const n = await createNetns(tag, i);
      rememberNetns(layout, n);
      hosts.push({
        name,
        kind,
        ssh: { address: n.address, port: 22 },
        ...(kind === 'mastodon'
          ? {
              web: { address: n.address, port: 3000 },
              streaming: { address: n.address, port: 4000 },
              proxy: { address: n.address, port: 80 },
            }
          : {}),
        netns: n,
        ...(link !== 'none' ? { relay: { address: '127.0.0.1', port: await freePort() } } : {}),
      });
    } else {
      hosts.push({
        name,
        kind,
        ssh: { address: '127.0.0.1', port: await freePort() },
        ...(kind === 'mastodon'
          ? {
              web: { address: '127.0.0.1', port: await freePort() },
              streaming: { address: '127.0.0.1', port: await freePort() },
              proxy: { address: '127.0.0.1', port: await freePort() },
            }
          : {}),
      });
    }
  }
  const s3 = await storeSpec(tag, hosts, link, (n) => rememberNetns(layout, n));
  const noBecome = becomeUnsupported();
  const becomeHost = hosts.find((h) => h.name === BECOME_HOST)!;
  if (noBecome) log(`${BECOME_HOST} is reached as ${os.userInfo().username}, like the other hosts: ${noBecome}`);
  else becomeHost.login = loginOf(layout, becomeHost).user;
  const appPorts: number[] = [];
  for (let i = 0; i < 4; i++) appPorts.push(await freePort());
  const apps = defaultCoopCloudApps('sandbox', 0).map((a, i) => ({ ...a, port: appPorts[i] }));
  const service = (domain: string) =>
    domain.startsWith('bonfire') ? 'bonfire' : domain.startsWith('auth') ? 'auth' : 'wiki';
  const state: SandboxState = {
    version: 1,
    dir: layout.root,
    mode: useNetns ? 'netns' : 'loopback',
    createdAt: new Date().toISOString(),
    user: os.userInfo().username,
    hosts,
    coopcloud: {
      server: COOPCLOUD_SERVER,
      host: 'hypha',
      apps: apps.map((a) => ({
        name: service(a.domain),
        domain: a.domain,
        recipe: a.recipe,
        version: a.version,
        port: a.port,
        envs: [a.domain.startsWith('wiki-alpha') ? 'alpha' : 'prod'],
      })),
    },
    link,
    s3,
    matrix: { port: await freePort(), room: MATRIX_ROOM.alias },
    faults: [],
  };

  log('creating the password store (gpg key, pass init, the S3 keys, the age identity, the Matrix token)');
  writeSecrets(layout, identity, recipient, s3.endpoint!, createMatrix(layout));

  log('creating the fixture upstream Mastodon repository');
  mkdirSync(layout.upstream, { recursive: true });
  const upstream = await createMastodonUpstream(path.join(layout.upstream, 'mastodon.git'));

  log('starting hosts (sshd, PostgreSQL, stand-ins)');
  const knownHosts: string[] = [];
  await Promise.all(
    hosts.map(async (h) => {
      const root = layout.host(h.name);
      for (const d of ['var/lib/coopctl', 'tmp', 'proc', 'var/run', 'etc/ssh', 'log', 'var/lib/docker'])
        mkdirSync(path.join(root, d), { recursive: true });
      if (h.kind === 'mastodon') {
        await prepareMastodonHost({ name: h.name, root, upstream, web: h.web!, streaming: h.streaming });
        if (h.login) createBecomeLogin(loginOf(layout, h), root, layout.ssh.authorizedKeys);
        await startProxy(root, h);
      } else {
        writeFileSync(path.join(root, 'proc/mdstat'), HEALTHY_MDSTAT);
      }
      const pub = prepareSshd(sshdSpec(layout, h));
      await startSshd(sshdSpec(layout, h));
      // What the operator connects to: with a shaped link, the relay in front of the host.
      const at = operatorSsh(h);
      knownHosts.push(`${hostToken(at.address, at.port)} ${pub}`);
    }),
  );
  writeFileSync(layout.ssh.knownHosts, `${knownHosts.sort().join('\n')}\n`);

  log('setting up the Co-op Cloud server (abra double, recipes, apps)');
  const hypha = hosts.find((h) => h.name === 'hypha')!;
  await writeAbraWrapper(layout.bin, layout.abraDir);
  await prepareCoopCloud({
    root: layout.host('hypha'),
    abraDir: layout.abraDir,
    server: COOPCLOUD_SERVER,
    ssh: { host: operatorSsh(hypha).address, port: operatorSsh(hypha).port },
    apps,
    databases: true,
  });

  log(`starting the object store (s3rver${s3.netns ? ', in its own network namespace' : ''})`);
  await startS3(layout, state.s3);
  log('starting the Matrix homeserver stand-in');
  await startMatrix(layout, state.matrix!);
  log(describeLink(state));
  shapeLinks(state);
  await startRelays(layout, state);

  // prod splits the queues across several sidekiq services, as social.coop's production does
  const secrets = Object.fromEntries(mastodonNames.map((n) => [n, sandboxMastodonSecrets()]));
  writeInventory(layout, state, (name) =>
    name === 'hypha'
      ? // Docker's data root on the Co-op Cloud server: what the disk check measures
        { coopctl_data_dir: path.join(layout.host(name), 'var/lib/docker') }
      : {
          ...mastodonHostVars(layout.host(name)),
          mastodon_domain: sandboxMastodonDomain(name),
          mastodon_secrets: secrets[name],
          ...(name === 'prod' ? { mastodon_sidekiq_processes: PRODUCTION_SIDEKIQ } : {}),
        },
  );
  writeSandboxConfig(layout, state, recipient);

  log(`deploying Mastodon ${INITIAL_MASTODON_VERSION} with the playbook (ansible-playbook over SSH)`);
  deployMastodon(layout, mastodonNames, INITIAL_MASTODON_VERSION);
  await Promise.all(mastodonNames.map((n) => seedMastodonData(layout.host(n))));
  writeState(layout.state, state);
  return state;
}

/**
 * Where the object store runs. With namespaces: its own, with the operator's link to it (a veth from the
 * sandbox's namespace) and a data-centre link from each host; without: on loopback, as the hosts are.
 */
async function storeSpec(
  tag: string,
  hosts: SandboxHost[],
  link: LinkName,
  remember: (n: { ns: string; outside: string }) => void,
): Promise<SandboxState['s3']> {
  if (!hosts[0]?.netns) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    return { port, bucket: S3_BUCKET, endpoint, hostEndpoint: endpoint };
  }
  const store = await createNetns(tag, hosts.length);
  remember(store);
  hosts.forEach((h, i) => {
    h.storeLink = connectToStore(tag, i, h.netns!, store);
  });
  const direct = `http://${store.address}:${STORE_PORTS.s3rver}`;
  const spec = { port: STORE_PORTS.s3rver, bucket: S3_BUCKET, netns: store };
  if (link === 'none') return { ...spec, endpoint: direct, hostEndpoint: direct };
  const relayPorts = { operator: await freePort(), hosts: STORE_PORTS.relay };
  return {
    ...spec,
    endpoint: `http://127.0.0.1:${relayPorts.operator}`,
    hostEndpoint: `http://${store.address}:${relayPorts.hosts}`,
    relayPorts,
  };
}

async function restart(layout: SandboxLayout, link: LinkName | undefined, log: (l: string) => void) {
  const state = readState(layout.state);
  if (link !== undefined && link !== (state.link ?? 'none'))
    throw new InputError(
      `--link ${link}: the sandbox at ${layout.root} was built with --link ${state.link ?? 'none'}`,
      { hints: [`keep it (leave out --link), or rebuild: coopctl sandbox down --purge --dir ${layout.root}`] },
    );
  startAgent(layout.ssh.agent);
  const tag = sandboxTag(layout.root);
  const namespaces = [...state.hosts.map((h) => h.netns), state.s3.netns];
  for (const [i, n] of namespaces.entries()) {
    if (n && !netnsExists(n.ns)) {
      await createNetns(tag, i, n);
      rememberNetns(layout, n);
    }
  }
  const store = state.s3.netns;
  for (const [i, h] of state.hosts.entries())
    if (store && h.netns && h.storeLink && !linkExists(h.netns.ns, h.storeLink.host))
      connectToStore(tag, i, h.netns, store);
  shapeLinks(state);
  await Promise.all(
    state.hosts.map(async (h) => {
      if (h.login) createBecomeLogin(loginOf(layout, h), layout.host(h.name), layout.ssh.authorizedKeys);
      if (h.kind === 'mastodon') {
        await startMastodonHost(layout.host(h.name), h.netns?.ns);
        startNginx(layout.host(h.name), h.netns?.ns);
      }
      await startSshd(sshdSpec(layout, h));
    }),
  );
  await startAppDatabases(layout.host('hypha'));
  await startCoopCloudHealth(layout.host('hypha'));
  if (!isRunning(readPid(layout.s3.pidFile) ?? -1)) await startS3(layout, state.s3);
  if (state.matrix && !matrixRunning(layout)) await startMatrix(layout, state.matrix);
  await startRelays(layout, state);
  log(describeLink(state));
  log('sandbox running');
  return state;
}

/** Stops every process under the sandbox directory, whether or not it was fully built. */
async function stopEverything(layout: SandboxLayout): Promise<void> {
  const hostsDir = path.join(layout.root, 'hosts');
  const names = existsSync(hostsDir) ? readdirSync(hostsDir) : [];
  await Promise.all(
    names.map(async (name) => {
      const root = layout.host(name);
      await stopSshd(path.join(root, 'etc', 'ssh'));
      if (existsSync(path.join(root, 'standin.json'))) await Promise.all([stopMastodonHost(root), stopNginx(root)]);
      if (existsSync(path.join(root, 'traefik.json'))) {
        await stopCoopCloudHealth(root);
        await stopAppDatabases(root);
      }
    }),
  );
  removeBecomeLogin(sandboxTag(layout.root));
  await Promise.all([stopPidFile(layout.s3.pidFile), stopMatrix(layout), stopRelays(layout)]);
  stopGpgAgent(layout);
  await stopAgent(layout.ssh.agent);
  for (const n of rememberedNetns(layout)) deleteNetns(n);
  rmSync(netnsFile(layout), { force: true });
}

/** Namespaces are recorded as soon as they exist, so a half-built sandbox can still be taken down. */
function netnsFile(layout: SandboxLayout): string {
  return path.join(layout.root, 'netns.json');
}

function rememberedNetns(layout: SandboxLayout): Array<{ ns: string; outside: string }> {
  try {
    return JSON.parse(readFileSync(netnsFile(layout), 'utf8'));
  } catch {
    return [];
  }
}

function rememberNetns(layout: SandboxLayout, n: { ns: string; outside: string }): void {
  writeFileSync(netnsFile(layout), JSON.stringify([...rememberedNetns(layout), { ns: n.ns, outside: n.outside }]));
}

export async function sandboxDown(dir: string, purge: boolean): Promise<void> {
  const layout = sandboxLayout(dir);
  if (existsSync(layout.root)) await stopEverything(layout);
  if (purge) rmSync(layout.root, { recursive: true, force: true });
}

export interface ProcessReport {
  what: string;
  running: boolean;
  where?: string;
}

export async function sandboxProcesses(
  dir: string,
): Promise<{ state: SandboxState; processes: ProcessReport[]; link: string }> {
  const layout = sandboxLayout(dir);
  const state = readState(layout.state);
  const processes: ProcessReport[] = [];
  for (const h of state.hosts) {
    const pid = readPid(sshdFiles(sshdSpec(layout, h).dir).pidFile);
    let answering = false;
    if (pid !== undefined && isRunning(pid))
      answering = await readBanner(h.ssh.address, h.ssh.port, 1000).then(
        () => true,
        () => false,
      );
    const via = h.relay ? ` (via ${h.relay.address}:${h.relay.port})` : '';
    processes.push({ what: `${h.name} sshd`, running: answering, where: `${h.ssh.address}:${h.ssh.port}${via}` });
    if (h.web)
      processes.push({
        what: `${h.name} mastodon web`,
        running: await answers(h.web.address, h.web.port),
        where: `http://${h.web.address}:${h.web.port}`,
      });
    if (h.proxy)
      processes.push({
        what: `${h.name} nginx`,
        running: await answers(h.proxy.address, h.proxy.port),
        where: `http://${h.proxy.address}:${h.proxy.port}`,
      });
  }
  for (const a of state.coopcloud.apps)
    processes.push({
      what: `${a.domain} (traefik stand-in)`,
      running: await answers('127.0.0.1', a.port),
      where: `http://127.0.0.1:${a.port}`,
    });
  processes.push(...appDatabaseProcesses(layout.host(state.coopcloud.host)));
  processes.push({
    what: 's3rver',
    running: isRunning(readPid(layout.s3.pidFile) ?? -1),
    where: state.s3.endpoint ?? `http://127.0.0.1:${state.s3.port}`,
  });
  if (state.matrix)
    processes.push({
      what: 'matrix homeserver (stand-in)',
      running: matrixRunning(layout),
      where: `http://127.0.0.1:${state.matrix.port}`,
    });
  if (state.s3.relayPorts)
    for (const [what, pidFile] of [
      ['link relay (operator end)', layout.links.operatorPid],
      ['link relay (store end)', layout.links.storePid],
    ])
      processes.push({ what, running: isRunning(readPid(pidFile) ?? -1) });
  return { state, processes, link: describeLink(state) };
}

async function answers(address: string, port: number): Promise<boolean> {
  const { httpGet } = await import('../../src/kernel/http.js');
  return httpGet(`http://${address}:${port}/health`, 1000).then(
    () => true,
    () => false,
  );
}
