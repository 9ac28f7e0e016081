import { abraConfig } from '../../drivers/abra/app.js';
import type { AbraServiceConfig } from '../../drivers/abra/config.js';
import { composeFiles, readAppEnv, type EnvFile } from '../../drivers/abra/envFile.js';
import { errorMessage } from '../../kernel/errors.js';
import { httpGet } from '../../kernel/http.js';
import { fail, pass } from '../../targets/check.js';
import type { Check, Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';

const OIDC_OVERLAY = 'compose.auth.openid.yml';
/** What the recipe's OIDC overlay reads (the client secret itself is a docker secret, only its version is here). */
const OIDC_KEYS = [
  'OPENID_1_DISCOVERY',
  'OPENID_1_CLIENT_ID',
  'OPENID_1_DISPLAY_NAME',
  'OPENID_1_SCOPE',
  'SECRET_OPENID_CLIENT_SECRET_VERSION',
];

interface Problem {
  message: string;
  fix: string;
}

interface Provider {
  service: string;
  realm: string;
  domain: string;
  /** Where the operator's machine reaches the provider: its health URL's origin, else https://<domain>. */
  origin: string;
  timeoutMs: number;
}

function providerOf(context: RunContext, t: Target): Provider {
  const sso = (t.serviceConfig as AbraServiceConfig).sso!;
  const env = (context.service(sso.provider) as AbraServiceConfig).environments[t.env];
  return {
    service: sso.provider,
    realm: sso.realm,
    domain: env.domain,
    origin: env.health ? new URL(env.health.url).origin : `https://${env.domain}`,
    timeoutMs: env.health?.requestTimeout ?? 5_000,
  };
}

const discoveryPath = (realm: string) => `/realms/${realm}/.well-known/openid-configuration`;

/** (a) the OIDC overlay and its settings, (b) the discovery URL they name. */
function envProblems(file: string, env: EnvFile, p: Provider): Problem[] {
  const problems: Problem[] = [];
  if (!composeFiles(env).includes(OIDC_OVERLAY)) {
    problems.push({
      message: `COMPOSE_FILE in ${file} does not enable ${OIDC_OVERLAY} (the recipe's OIDC overlay)`,
      fix: `add COMPOSE_FILE="$COMPOSE_FILE:${OIDC_OVERLAY}" after the COMPOSE_FILE line`,
    });
  }
  const unset = OIDC_KEYS.filter((k) => !env.vars[k]?.trim());
  if (unset.length) {
    problems.push({
      message: `${file} does not set ${unset.join(', ')}`,
      fix:
        "set them as the SSO section of the recipe's .env.sample says " +
        `(the client of realm ${p.realm} on ${p.domain})`,
    });
  }
  const expected = `https://${p.domain}${discoveryPath(p.realm)}`;
  const discovery = env.vars.OPENID_1_DISCOVERY?.trim();
  if (discovery && discovery !== expected) {
    problems.push({
      message:
        `OPENID_1_DISCOVERY in ${file}:${env.lines.OPENID_1_DISCOVERY} is ${discovery}, ` +
        `not realm ${p.realm} of ${p.service}`,
      fix: `set OPENID_1_DISCOVERY=${expected}`,
    });
  }
  return problems;
}

/** (c) the realm's discovery document answers, for the issuer Bonfire will be given tokens by. */
async function discoveryProblem(p: Provider): Promise<Problem | undefined> {
  const url = p.origin + discoveryPath(p.realm);
  const issuer = `https://${p.domain}/realms/${p.realm}`;
  const fixUp = `check that ${p.service} answers: coopctl status ${p.service}`;
  let r: Awaited<ReturnType<typeof httpGet>>;
  try {
    r = await httpGet(url, p.timeoutMs);
  } catch (err) {
    return { message: `the discovery document of realm ${p.realm} does not answer: ${errorMessage(err)}`, fix: fixUp };
  }
  let doc: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(r.body);
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) doc = parsed as Record<string, unknown>;
  } catch {
    // not JSON: reported below
  }
  if (r.status !== 200) {
    const said = typeof doc?.error === 'string' ? ` (${doc.error})` : '';
    return {
      message: `${url} answered HTTP ${r.status}${said}`,
      fix:
        r.status === 404
          ? `realm ${p.realm} is not on ${p.domain}: create it, or set sso.realm in coopctl.yaml to the realm's name`
          : fixUp,
    };
  }
  if (!doc) return { message: `${url} answered HTTP 200 without a JSON document`, fix: fixUp };
  if (doc.issuer !== issuer) {
    return {
      message:
        `issuer mismatch: the discovery document of realm ${p.realm} names issuer ${String(doc.issuer)}, ` +
        `not ${issuer}`,
      fix:
        `Bonfire would reject the realm's tokens: fix the realm or Keycloak's hostname on ${p.domain}, ` +
        'or point sso.realm and OPENID_1_DISCOVERY at the realm that issues them',
    };
  }
  const lacking = ['authorization_endpoint', 'token_endpoint'].filter((k) => typeof doc[k] !== 'string');
  if (lacking.length) return { message: `the discovery document at ${url} has no ${lacking.join(', ')}`, fix: fixUp };
  return undefined;
}

/** The app logs in through the Keycloak realm config says: its env's OIDC settings, and the realm's answer. */
export const ssoCheck: Check = {
  id: 'sso',
  appliesTo: (t) => (t.serviceConfig as AbraServiceConfig).sso !== undefined,
  async run({ context, target }) {
    const p = providerOf(context, target);
    const { domain } = abraConfig(target);
    const { file, env } = await readAppEnv(context, target);
    const problems = env
      ? envProblems(file, env, p)
      : [{ message: `${file} does not exist`, fix: 'see the env-file check' }];
    const answer = await discoveryProblem(p);
    if (answer) problems.push(answer);
    if (problems.length) {
      return fail(problems.map((x) => x.message).join('; '), problems.map((x) => x.fix).join('; '));
    }
    return pass(`${domain} logs in through realm ${p.realm} of ${p.domain}: its discovery document answers`);
  },
};
