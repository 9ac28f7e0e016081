// source: coop-cloud/bonfire compose.auth.openid.yml and .env.sample (OPENID_1_DISCOVERY, OPENID_1_CLIENT_ID,
// OPENID_1_DISPLAY_NAME, OPENID_1_SCOPE, SECRET_OPENID_CLIENT_SECRET_VERSION; COMPOSE_FILE enabling the overlay)
/**
 * social.coop's Bonfire logs in through the `social-coop` realm of its Keycloak: its env file has the recipe
 * sample's SSO lines uncommented and filled in, as an operator following the recipe's README would.
 */
const QUOTED = (v: string) => (/[\s#"']/.test(v) ? `"${v}"` : v);

export function enableOidc(env: string, o: { authDomain: string; realm: string }): string {
  const values: Record<string, string> = {
    SECRET_OPENID_CLIENT_SECRET_VERSION: 'v1',
    OPENID_1_DISCOVERY: `https://${o.authDomain}/realms/${o.realm}/.well-known/openid-configuration`,
    OPENID_1_DISPLAY_NAME: 'social.coop',
    OPENID_1_CLIENT_ID: 'bonfire',
    OPENID_1_SCOPE: 'openid email profile',
    OPENID_1_RESPONSE_TYPE: 'code',
  };
  return env
    .split('\n')
    .map((line) => {
      if (/^#\s*COMPOSE_FILE=.*compose\.auth\.openid\.yml/.test(line)) return line.replace(/^#\s*/, '');
      const m = /^#\s*([A-Z0-9_]+)=/.exec(line);
      return m && m[1] in values ? `${m[1]}=${QUOTED(values[m[1]])}` : line;
    })
    .join('\n');
}
