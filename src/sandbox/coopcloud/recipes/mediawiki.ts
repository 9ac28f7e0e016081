import { envFromSample, withNotes, type FixtureRecipe } from './types.js';

/**
 * coop-cloud/mediawiki. Its first release has no backupbot labels, so
 * `abra app backup` finds nothing for it; 1.1.0 added them (users.md: wiki
 * backups worked "only after a recipe update, tried on wiki-alpha first").
 */
const TAGS = [
  { tag: '1.0.0+1.41.1', upstream: '1.41.1', date: '2024-05-02T10:12:44+02:00', backups: false },
  { tag: '1.1.0+1.42.1', upstream: '1.42.1', date: '2024-08-20T18:40:02+02:00', backups: true },
  { tag: '1.1.1+1.42.3', upstream: '1.42.3', date: '2024-11-05T09:03:27+01:00', backups: true },
];

const NOTES: Record<string, string> = {
  '1.1.0+1.42.1':
    'Adds backupbot labels: `abra app backup create` now dumps the MariaDB database and backs up the images volume.\nMediaWiki 1.42 runs `update.php` on first start; large wikis may take a few minutes to converge.',
  '1.1.1+1.42.3': 'MediaWiki 1.42.3: security release (see https://lists.wikimedia.org/ for the advisories).',
};

function compose(tag: string, upstream: string, backups: boolean): string {
  const appBackup = backups ? '\n        - "backupbot.backup=${ENABLE_BACKUPS:-true}"' : '';
  const dbLabels = backups
    ? `
    deploy:
      labels:
        backupbot.backup: \${ENABLE_BACKUPS:-true}
        backupbot.backup.pre-hook: "sh -c 'mariadb-dump --single-transaction -u root -p\\"$$(cat /run/secrets/db_root_password)\\" mediawiki > /var/lib/mysql/dump.sql'"
        backupbot.backup.volumes.mariadb.path: "dump.sql"
        backupbot.restore.post-hook: "sh -c 'mariadb -u root -p\\"$$(cat /run/secrets/db_root_password)\\" mediawiki < /var/lib/mysql/dump.sql'"`
    : '';
  return `---
version: "3.8"

services:
  app:
    image: mediawiki:${upstream}
    environment:
      - DOMAIN
      - MEDIAWIKI_DB_HOST=\${STACK_NAME}_db
      - MEDIAWIKI_DB_NAME=mediawiki
    volumes:
      - mediawiki-images:/var/www/html/images
    networks:
      - proxy
      - internal
    deploy:
      restart_policy:
        condition: on-failure
      labels:
        - "traefik.enable=true"
        - "traefik.http.services.\${STACK_NAME}.loadbalancer.server.port=80"
        - "traefik.http.routers.\${STACK_NAME}.rule=Host(\`\${DOMAIN}\`)"
        - "traefik.http.routers.\${STACK_NAME}.entrypoints=web-secure"
        - "coop-cloud.\${STACK_NAME}.timeout=\${TIMEOUT:-120}"${appBackup}
        - "coop-cloud.\${STACK_NAME}.version=${tag}"

  db:
    image: mariadb:10.11
    environment:
      - MYSQL_DATABASE=mediawiki
      - MYSQL_USER=mediawiki
      - MYSQL_PASSWORD_FILE=/run/secrets/db_password
      - MYSQL_ROOT_PASSWORD_FILE=/run/secrets/db_root_password
    secrets:
      - db_password
      - db_root_password
    volumes:
      - mariadb:/var/lib/mysql
    networks:
      - internal${dbLabels}

volumes:
  mediawiki-images:
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
`;
}

function sample(backups: boolean): string {
  return `TYPE=mediawiki

DOMAIN=mediawiki.example.com
LETS_ENCRYPT_ENV=production

COMPOSE_FILE="compose.yml"
${backups ? '\n# enable abra backups\nENABLE_BACKUPS=true\n' : ''}
SITENAME="My Wiki"
SECRET_DB_PASSWORD_VERSION=v1
SECRET_DB_ROOT_PASSWORD_VERSION=v1
`;
}

export const mediawiki: FixtureRecipe = {
  name: 'mediawiki',
  releases: TAGS.map((t, i) => ({
    tag: t.tag,
    date: t.date,
    files: withNotes(
      {
        'README.md': '# mediawiki\n\nA [coop-cloud](https://coopcloud.tech) recipe for [MediaWiki](https://www.mediawiki.org).\n',
        'compose.yml': compose(t.tag, t.upstream, t.backups),
        '.env.sample': sample(t.backups),
      },
      NOTES,
      TAGS.slice(0, i + 1).map((x) => x.tag),
    ),
  })),
  envFile: (domain, version) => envFromSample(sample(TAGS.find((t) => t.tag === version)?.backups ?? true), 'mediawiki', domain, version),
};
