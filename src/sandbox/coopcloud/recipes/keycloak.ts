import { envFromSample, withNotes, type FixtureRecipe } from './types.js';

/** coop-cloud/keycloak: social.coop's SSO (auth.social.coop); backups of its MariaDB via backupbot labels. */
const TAGS = [
  { tag: '7.0.0+25.0.6', upstream: '25.0.6', date: '2024-10-01T14:22:10+02:00' },
  { tag: '8.0.0+26.0.5', upstream: '26.0.5', date: '2024-11-15T11:05:48+01:00' },
  { tag: '8.0.1+26.0.7', upstream: '26.0.7', date: '2024-12-10T16:31:09+01:00' },
];

const NOTES: Record<string, string> = {
  '7.0.0+25.0.6': 'Keycloak 25: the deprecated `KEYCLOAK_ADMIN_PASSWORD` handling changed; check your admin login after upgrading.',
  '8.0.0+26.0.5':
    'Keycloak 26: the hostname v1 options are removed. KC_HOSTNAME must now be the full URL (https://<domain>); the recipe sets it from DOMAIN.\nSessions are persisted in the database from 26.0 on: the first start migrates them and takes longer.',
};

function compose(tag: string, upstream: string): string {
  return `---
version: "3.8"

services:
  app:
    image: quay.io/keycloak/keycloak:${upstream}
    command: start
    environment:
      - KC_DB=mariadb
      - KC_DB_URL_HOST=\${STACK_NAME}_db
      - KC_DB_URL_DATABASE=keycloak
      - KC_DB_USERNAME=keycloak
      - KC_HOSTNAME=https://\${DOMAIN}
      - KC_PROXY_HEADERS=xforwarded
      - KC_HTTP_ENABLED=true
    secrets:
      - db_password
      - admin_password
    networks:
      - proxy
      - internal
    deploy:
      restart_policy:
        condition: on-failure
      labels:
        - "traefik.enable=true"
        - "traefik.http.services.\${STACK_NAME}.loadbalancer.server.port=8080"
        - "traefik.http.routers.\${STACK_NAME}.rule=Host(\`\${DOMAIN}\`)"
        - "traefik.http.routers.\${STACK_NAME}.entrypoints=web-secure"
        - "coop-cloud.\${STACK_NAME}.timeout=\${TIMEOUT:-180}"
        - "coop-cloud.\${STACK_NAME}.version=${tag}"

  db:
    image: mariadb:10.11
    environment:
      - MYSQL_DATABASE=keycloak
      - MYSQL_USER=keycloak
      - MYSQL_PASSWORD_FILE=/run/secrets/db_password
      - MYSQL_ROOT_PASSWORD_FILE=/run/secrets/db_root_password
    secrets:
      - db_password
      - db_root_password
    volumes:
      - mariadb:/var/lib/mysql
    networks:
      - internal
    deploy:
      labels:
        backupbot.backup: "true"
        backupbot.backup.pre-hook: "sh -c 'mariadb-dump --single-transaction -u root -p\\"$$(cat /run/secrets/db_root_password)\\" keycloak > /var/lib/mysql/dump.sql'"
        backupbot.backup.volumes.mariadb.path: "dump.sql"
        backupbot.restore.post-hook: "sh -c 'mariadb -u root -p\\"$$(cat /run/secrets/db_root_password)\\" keycloak < /var/lib/mysql/dump.sql'"

volumes:
  mariadb:

networks:
  proxy:
    external: true
  internal:

secrets:
  db_password:
    external: true
    name: \${STACK_NAME}_db_password_\${SECRET_DB_PASSWORD_VERSION:-v1}
  db_root_password:
    external: true
    name: \${STACK_NAME}_db_root_password_\${SECRET_DB_ROOT_PASSWORD_VERSION:-v1}
  admin_password:
    external: true
    name: \${STACK_NAME}_admin_password_\${SECRET_ADMIN_PASSWORD_VERSION:-v1}
`;
}

const SAMPLE = `TYPE=keycloak

DOMAIN=keycloak.example.com
LETS_ENCRYPT_ENV=production

COMPOSE_FILE="compose.yml"

SECRET_DB_PASSWORD_VERSION=v1
SECRET_DB_ROOT_PASSWORD_VERSION=v1
SECRET_ADMIN_PASSWORD_VERSION=v1
`;

export const keycloak: FixtureRecipe = {
  name: 'keycloak',
  releases: TAGS.map((t, i) => ({
    tag: t.tag,
    date: t.date,
    files: withNotes(
      {
        'README.md': '# keycloak\n\nA [coop-cloud](https://coopcloud.tech) recipe for [Keycloak](https://www.keycloak.org) single sign-on.\n',
        'compose.yml': compose(t.tag, t.upstream),
        '.env.sample': SAMPLE,
      },
      NOTES,
      TAGS.slice(0, i + 1).map((x) => x.tag),
    ),
  })),
  envFile: (domain, version) => envFromSample(SAMPLE, 'keycloak', domain, version),
};
