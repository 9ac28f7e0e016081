/**
 * What the sandbox's Keycloak (the `auth` app, behind the traefik stand-in) answers at
 * `/realms/<realm>/.well-known/openid-configuration`: the discovery document of its one realm, shaped like
 * Keycloak 25's, and Keycloak's 404 for any other realm.
 */
// source: OpenID Connect Discovery 1.0 §3-4 (https://openid.net/specs/openid-connect-discovery-1_0.html:
// issuer must equal the URL the document was fetched under, minus /.well-known/openid-configuration);
// keycloak/keycloak services/src/main/java/org/keycloak/services/resources/RealmsResource.java (an unknown realm:
// NotFoundException "Realm does not exist", answered 404 {"error":"Realm does not exist"})
export const SANDBOX_REALM = 'social-coop';

/** The realm's new name under the `sso-broken` fault: renamed, its old URL still routed to it. */
const RENAMED_REALM = 'socialcoop';

function discoveryDocument(domain: string, realm: string): Record<string, unknown> {
  const issuer = `https://${domain}/realms/${realm}`;
  const oidc = `${issuer}/protocol/openid-connect`;
  return {
    issuer,
    authorization_endpoint: `${oidc}/auth`,
    token_endpoint: `${oidc}/token`,
    introspection_endpoint: `${oidc}/token/introspect`,
    userinfo_endpoint: `${oidc}/userinfo`,
    end_session_endpoint: `${oidc}/logout`,
    jwks_uri: `${oidc}/certs`,
    check_session_iframe: `${oidc}/login-status-iframe.html`,
    registration_endpoint: `${issuer}/clients-registrations/openid-connect`,
    revocation_endpoint: `${oidc}/revoke`,
    grant_types_supported: ['authorization_code', 'implicit', 'refresh_token', 'password', 'client_credentials'],
    response_types_supported: ['code', 'none', 'id_token', 'token', 'id_token token', 'code id_token'],
    subject_types_supported: ['public', 'pairwise'],
    id_token_signing_alg_values_supported: ['RS256', 'ES256', 'HS256', 'PS256'],
    scopes_supported: ['openid', 'profile', 'email', 'roles', 'web-origins', 'offline_access'],
    claims_supported: ['aud', 'sub', 'iss', 'auth_time', 'name', 'given_name', 'preferred_username', 'email'],
    code_challenge_methods_supported: ['plain', 'S256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post'],
  };
}

/** The answer for `url` on the Keycloak app `domain`; undefined when the path is not a realm's discovery. */
export function keycloakAnswer(
  domain: string,
  url: string,
  ssoBroken: boolean,
): { status: number; body: string } | undefined {
  const m = /^\/realms\/([^/?]+)\/\.well-known\/openid-configuration(?:\?.*)?$/.exec(url);
  if (!m) return undefined;
  const realm = decodeURIComponent(m[1]);
  if (realm !== SANDBOX_REALM) return { status: 404, body: JSON.stringify({ error: 'Realm does not exist' }) };
  return { status: 200, body: JSON.stringify(discoveryDocument(domain, ssoBroken ? RENAMED_REALM : realm)) };
}
