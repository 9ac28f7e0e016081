import { firstLine, toolProbe } from '../../checks/doctor/tools.js';
import { errorMessage } from '../../kernel/errors.js';
import { printable } from '../../kernel/validate.js';
import { finding } from '../../targets/doctor.js';
import { instanceVersion, redisVersion } from './host.js';
import { verificationRequestsCheck } from './requestsCheck.js';
import { instanceDomainsOf, instanceEnvFile, localEndpoints, readDomainLines } from './local.js';
import { tryParseMastodonVersion } from './version.js';
import type { DoctorProbe } from '../../targets/target.js';

const subjectOf = (t: { service: string; env: string }) => `${t.service}/${t.env}`;

/** The running version as status, upgrade and verification read it: the instance API, asked on the host. */
const instanceApiProbe: DoctorProbe = {
  id: 'instance-api',
  scope: 'target',
  async run({ target: t }) {
    const url = `${localEndpoints(t).web}/api/v2/instance`;
    const assumes = `the web process answers ${url} on ${t.host.name}, asked there (never through nginx's cache)`;
    let version: string;
    try {
      version = await instanceVersion(t);
    } catch (err) {
      return [
        finding('instance-api', subjectOf(t), 'fail', {
          found: firstLine(errorMessage(err)),
          assumes,
          action: 'status shows no version; an upgrade stops at its plan, before anything changes',
        }),
      ];
    }
    const parsed = tryParseMastodonVersion(version);
    return [
      finding('instance-api', subjectOf(t), parsed ? 'ok' : 'unknown', {
        found: `version ${firstLine(version)}`,
        assumes,
        action: parsed
          ? 'reads the running version there, and verifies upgrades there'
          : 'this is no Mastodon version: upgrades refuse it',
      }),
    ];
  },
};

/** LOCAL_DOMAIN and WEB_DOMAIN: the only Host names Mastodon answers on (besides ALTERNATE_DOMAINS). */
const domainProbe: DoctorProbe = {
  id: 'domain',
  scope: 'target',
  async run({ target: t }) {
    const d = instanceDomainsOf(await readDomainLines(t));
    const assumes =
      `Mastodon answers only a Host it knows: LOCAL_DOMAIN, WEB_DOMAIN or ALTERNATE_DOMAINS of ${instanceEnvFile(t)} ` +
      '(403 otherwise; config/initializers/1_hosts.rb), and redirects plain http (force_ssl)';
    const found = printable(`LOCAL_DOMAIN=${d.local ?? '(unset)'}; WEB_DOMAIN=${d.web ?? '(unset)'}`);
    if (!d.local) {
      const action = 'the instance API finding shows whether requests on the host are answered';
      return [finding('domain', subjectOf(t), 'fail', { found, assumes, action })];
    }
    const action = `asks the instance on the host as ${d.web ?? d.local}, over https as nginx forwards it`;
    return [finding('domain', subjectOf(t), 'ok', { found, assumes, action })];
  },
};

const redisProbe: DoctorProbe = {
  id: 'redis',
  scope: 'target',
  async run({ target: t }) {
    const v = await redisVersion(t);
    const assumes = `Redis runs as the compose service redis in ${t.paths.dataDir}`;
    if (!v) {
      return [
        finding('redis', subjectOf(t), 'unknown', {
          found: '`redis-server --version` in the redis service gave no version',
          assumes,
          action: "an upgrade's plan cannot check the target's Redis floor (it says so)",
        }),
      ];
    }
    const action = "checks it against each target version's Redis floor before an upgrade";
    return [finding('redis', subjectOf(t), 'ok', { found: `Redis ${v}`, assumes, action })];
  },
};

const compose = toolProbe({
  subject: 'docker compose',
  bin: 'docker',
  versionArgv: ['docker', 'compose', 'version'],
  // "Docker Compose version v2.29.7"
  version: /Docker Compose version v?(\d+\.\d+\.\d+\S*)/,
  whenMissing: 'backups and upgrades of Mastodon fail there',
  install: 'apt-get install docker-compose-plugin',
  neededFor: ({ target: t }) =>
    `Mastodon runs as a compose project in ${t.paths.dataDir} on ${t.host.name}: the playbook and coopctl ` +
    'run `docker compose -f .../docker-compose.yml` (exec for dumps, stop before a database swap)',
});

const python3 = toolProbe({
  subject: 'python3',
  bin: 'python3',
  versionArgv: ['python3', '--version'],
  // "Python 3.11.2"
  version: /Python (\d+\.\d+\.\d+\S*)/,
  whenMissing: 'status shows no version and no health, and upgrades stop at their plan',
  install: 'apt-get install python3',
  neededFor: ({ target: t }) =>
    `coopctl asks the web and streaming processes on ${t.host.name} with python3 (Ansible's modules need it too)`,
});

/** The requests verification counts answer 2xx here (an admin may close some to visitors), as preflight asks. */
const requestsProbe: DoctorProbe = {
  id: 'verification-requests',
  scope: 'target',
  async run(ctx) {
    const r = await verificationRequestsCheck.run({ ...ctx, allowPrerelease: false });
    const status = r.status === 'pass' ? 'ok' : r.status === 'warn' ? 'unknown' : 'fail';
    return [
      finding('verification-requests', subjectOf(ctx.target), status, {
        found: r.message,
        assumes: 'the API requests verification counts answer 2xx without a login (health.requestPaths)',
        action: r.fix ?? 'verification after a change asks them and counts any 3xx/4xx/5xx as a failure',
      }),
    ];
  },
};

/** What `coopctl doctor` checks of a Mastodon deployment. */
export const MASTODON_DOCTOR: readonly DoctorProbe[] = [
  compose,
  python3,
  instanceApiProbe,
  domainProbe,
  redisProbe,
  requestsProbe,
];
