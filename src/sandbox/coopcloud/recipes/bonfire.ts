import { envFromSample, withNotes, type FixtureRecipe } from './types.js';

/** coop-cloud/bonfire, trimmed from the real recipe (app + db, OIDC overlay, backup labels on db). */
const TAGS = [
  { tag: '1.0.0+1.0.5-social-amd64', upstream: '1.0.5', date: '2026-07-08T12:35:31+02:00', meili: true },
  { tag: '2.0.0+1.0.5-social-amd64', upstream: '1.0.5', date: '2026-08-04T15:56:10+02:00', meili: false },
  { tag: '2.0.1+1.0.6-social-amd64', upstream: '1.0.6', date: '2026-08-04T16:03:16+02:00', meili: false },
];

const NOTES: Record<string, string> = {
  '1.0.0+1.0.5-social-amd64':
    'ATTENTION: this is the first release and contains a couple of breaking changes in comparison to the previously unreleased recipe. There are a lot of secrets, keys and passwords moved to docker secrets, and the .env.sample was completly restructured. It is recommended to start your env file from scratch from the new template to make sure nothing is missing.',
  '2.0.0+1.0.5-social-amd64':
    'Mailisearch search backend was removed. If you want to use a search backend switch to sonic. See readme on how to use it.',
};

function compose(tag: string, upstream: string): string {
  return `---
version: "3.8"

services:
  app:
    image: \${CONTAINER_REGISTRY:-bonfirenetworks/bonfire}:\${APP_VERSION:-${upstream}}-\${APP_FLAVOUR:-social}-\${APP_PLATFORM:-amd64}
    depends_on:
      - db
    environment:
      - PUBLIC_PORT=443
      - MIX_ENV=prod
      - HOSTNAME=\${DOMAIN}
      - DISABLE_DB_AUTOMIGRATION
      - UPLOAD_LIMIT
      - POSTGRES_HOST=\${STACK_NAME}_db
      - POSTGRES_DB=bonfire_db
      - POSTGRES_USER=postgres
      - POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password
      - SECRET_KEY_BASE_FILE=/run/secrets/secret_key_base
      - SIGNING_SALT_FILE=/run/secrets/signing_salt
      - ENCRYPTION_SALT_FILE=/run/secrets/encryption_salt
    secrets:
      - postgres_password
      - secret_key_base
      - signing_salt
      - encryption_salt
    volumes:
      - upload-data:/opt/app/data/uploads
    networks:
      - proxy
      - internal
    deploy:
      restart_policy:
        condition: on-failure
      labels:
        # how long abra waits for the deploy to converge: DB migrations on upgrades need headroom
        - "coop-cloud.\${STACK_NAME}.timeout=\${TIMEOUT:-300}"
        - "backupbot.backup=\${ENABLE_BACKUPS:-true}"
        - "traefik.enable=true"
        - "traefik.http.services.\${STACK_NAME}.loadbalancer.server.port=4000"
        - "traefik.http.routers.\${STACK_NAME}.rule=Host(\`\${DOMAIN}\`)"
        - "traefik.http.routers.\${STACK_NAME}.entrypoints=web-secure"
        - "coop-cloud.\${STACK_NAME}.version=${tag}"
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:4000"]
      interval: 30s
      timeout: 10s
      retries: 10
      start_period: 15s

  db:
    image: \${DB_DOCKER_IMAGE:-ghcr.io/baosystems/postgis}:\${DB_DOCKER_VERSION:-17-3.5}
    stop_grace_period: 2m
    volumes:
      - db-data:/var/lib/postgresql/data
    networks:
      - internal
    environment:
      POSTGRES_DB: bonfire_db
      POSTGRES_USER: postgres
      POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password
    secrets:
      - postgres_password
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -h localhost -U $$POSTGRES_USER"]
      interval: 10s
      timeout: 5s
      retries: 5
    deploy:
      labels:
        backupbot.backup: \${ENABLE_BACKUPS:-true}
        backupbot.backup.pre-hook: "/pg_backup.sh backup"
        backupbot.backup.volumes.db-data.path: "backup.sql"
        backupbot.restore.post-hook: "/pg_backup.sh restore"
    configs:
      - source: pg_backup
        target: /pg_backup.sh
        mode: 0555

volumes:
  upload-data:
  db-data:

networks:
  proxy:
    external: true
  internal:

configs:
  pg_backup:
    name: \${STACK_NAME}_pg_backup_\${PG_BACKUP_VERSION:-v1}
    file: pg_backup.sh

secrets:
  postgres_password:
    external: true
    name: \${STACK_NAME}_postgres_password_\${SECRET_POSTGRES_PASSWORD_VERSION:-v1}
  secret_key_base:
    external: true
    name: \${STACK_NAME}_secret_key_base_\${SECRET_SECRET_KEY_BASE_VERSION:-v1}
  signing_salt:
    external: true
    name: \${STACK_NAME}_signing_salt_\${SECRET_SIGNING_SALT_VERSION:-v1}
  encryption_salt:
    external: true
    name: \${STACK_NAME}_encryption_salt_\${SECRET_ENCRYPTION_SALT_VERSION:-v1}
`;
}

const OPENID = `version: "3.8"

services:
  app:
    environment:
      - OPENID_1_DISPLAY_NAME
      - OPENID_1_DISCOVERY
      - OPENID_1_CLIENT_ID
      - OPENID_1_CLIENT_SECRET_FILE=/run/secrets/openid_client_secret
      - OPENID_1_SCOPE
      - OPENID_1_RESPONSE_TYPE
      - OPENID_1_ENABLE_SIGNUP
    secrets:
      - openid_client_secret

secrets:
  openid_client_secret:
    external: true
    name: \${STACK_NAME}_openid_client_secret_\${SECRET_OPENID_CLIENT_SECRET_VERSION:-v1}
`;

const MEILISEARCH = `version: "3.8"

services:
  app:
    environment:
      - SEARCH_MEILI_INSTANCE=http://\${STACK_NAME}_search:7700
  search:
    image: getmeili/meilisearch:v0.25.2
    volumes:
      - search-data:/data.ms
    networks:
      - internal

volumes:
  search-data:
`;

function sample(meili: boolean): string {
  return `TYPE=bonfire

LETS_ENCRYPT_ENV=production

# choose what flavour of Bonfire to run. default: social
#APP_FLAVOUR=social
# uncomment to run specific version e.g. 1.0.4 or latest release branch
#APP_VERSION=latest

# enter your instance's domain name
DOMAIN=bonfire.example.com
# DO NOT CHANGE DOMAIN AFTER DEPLOYMENT! WILL BREAK FEDERATION!!

# enable abra backups
ENABLE_BACKUPS=true

COMPOSE_FILE="compose.yml"
${meili ? '\n# search backend\n#COMPOSE_FILE="$COMPOSE_FILE:compose.meilisearch.yml"\n' : ''}
# ====================================
# DATABASE CONFIG
SECRET_POSTGRES_PASSWORD_VERSION=v1
DB_MEMORY_LIMIT=1024

# uncomment in order to NOT automatically change the database schema when you upgrade the app
# DISABLE_DB_AUTOMIGRATION=true

# max file upload size - default is 20 meg
UPLOAD_LIMIT=20000000

# ====================================
# SSO
# OpenID Connect: connect as a client to the OpenID Connect provider with callback url https://yourinstance.tld/openid/client/openid_1
#COMPOSE_FILE="$COMPOSE_FILE:compose.auth.openid.yml"
#SECRET_OPENID_CLIENT_SECRET_VERSION=v1
# OPENID_1_DISCOVERY=
# OPENID_1_DISPLAY_NAME=
# OPENID_1_CLIENT_ID=
# OPENID_1_SCOPE=
# OPENID_1_RESPONSE_TYPE=code

LOG_LEVEL=info

# ====================================
# SECRETS
SECRET_SECRET_KEY_BASE_VERSION=v1 # length=128
SECRET_SIGNING_SALT_VERSION=v1 # length=128
SECRET_ENCRYPTION_SALT_VERSION=v1 # length=128
`;
}

const PG_BACKUP = `#!/bin/bash
set -e
BACKUP_FILE='/var/lib/postgresql/data/backup.sql'

function backup {
  export PGPASSWORD=$(cat /run/secrets/postgres_password)
  pg_dump -U \${POSTGRES_USER} \${POSTGRES_DB} > $BACKUP_FILE
}

function restore {
  cd /var/lib/postgresql/data/
  function restore_config {
    cat pg_hba.conf.bak > pg_hba.conf
    su postgres -c 'pg_ctl reload'
  }
  trap restore_config EXIT INT TERM
  cp pg_hba.conf pg_hba.conf.bak
  echo "local all all trust" > pg_hba.conf
  su postgres -c 'pg_ctl reload'
  su postgres -c "dropdb \${POSTGRES_DB}"
  su postgres -c "createdb \${POSTGRES_DB}"
  su postgres -c "psql -f $BACKUP_FILE \${POSTGRES_DB}"
  trap - EXIT INT TERM
  restore_config
}

$@
`;

const README = `# bonfire

A [coop-cloud](https://coopcloud.tech) recipe for deploying [Bonfire](https://bonfirenetworks.org)

1. \`abra app new bonfire --secrets\`
2. \`abra app config <app-name>\`
3. \`abra app deploy <app-name>\`
`;

export const bonfire: FixtureRecipe = {
  name: 'bonfire',
  releases: TAGS.map((t, i) => {
    const files: Record<string, string> = {
      'README.md': README,
      'compose.yml': compose(t.tag, t.upstream),
      'compose.auth.openid.yml': OPENID,
      '.env.sample': sample(t.meili),
      'pg_backup.sh': PG_BACKUP,
    };
    if (t.meili) files['compose.meilisearch.yml'] = MEILISEARCH;
    return { tag: t.tag, date: t.date, files: withNotes(files, NOTES, TAGS.slice(0, i + 1).map((x) => x.tag)) };
  }),
  envFile: (domain, version) => envFromSample(sample(TAGS.find((t) => t.tag === version)?.meili ?? false), 'bonfire', domain, version),
};
