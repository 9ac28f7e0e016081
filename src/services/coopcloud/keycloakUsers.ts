import type { RestoreFacts } from '../../backup/restoreFacts.js';

/**
 * Keycloak's users per realm, for the restore test of its database (reference/production.md "Keycloak users": the
 * users, their credentials and the realms live in the database, so a database backup is the backup of the users;
 * `kc.sh export` can write none and still exit 0, so they are counted). Every USER_ENTITY row counts, service
 * accounts included: what matters is that a realm with members did not come back empty.
 *
 * source: keycloak/keycloak model/jpa/src/main/resources/META-INF/jpa-changelog-1.0.0.Final.xml (changeSet
 * 1.0.0.Final: createTable REALM with ID VARCHAR(36) and NAME VARCHAR(255); createTable USER_ENTITY with
 * REALM_ID VARCHAR(255), the realm's ID). Liquibase creates them unquoted: upper case on MariaDB (table names keep
 * their case on Linux), folded to lower case on PostgreSQL. A realm's name is free text: it travels hex-encoded.
 */
const SQL = {
  mariadb: `SELECT concat('realm:', hex(coalesce(r.NAME, r.ID))), count(u.ID)
  FROM REALM r LEFT JOIN USER_ENTITY u ON u.REALM_ID = r.ID GROUP BY r.ID, r.NAME;
SELECT 'end', '';
`,
  postgres: `SELECT 'realm:' || encode(convert_to(coalesce(r.name, r.id), 'UTF8'), 'hex'), count(u.id)
  FROM realm r LEFT JOIN user_entity u ON u.realm_id = r.id GROUP BY r.id, r.name;
SELECT 'end', '';
`,
};

/** "realm:<hex of the name>" → users, from the answer of SQL. */
function usersPerRealm(values: Map<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [k, v] of values) {
    const m = /^realm:((?:[0-9A-Fa-f]{2})*)$/.exec(k);
    if (m && /^\d+$/.test(v)) counts[Buffer.from(m[1], 'hex').toString('utf8')] = Number(v);
  }
  return counts;
}

const users = (n: number) => `${n} user${n === 1 ? '' : 's'}`;

/**
 * A line per realm, restored against live ("realm social.coop: 412 users restored, 413 live"). The restore test
 * fails when a realm with users in the live database has none in the restored one, or when nothing was restored
 * at all (Keycloak always has its master realm). Fewer or more users than live is reported, not failed: the live
 * database has moved on since the backup.
 */
function judge(restored: Record<string, number>, live: Record<string, number> | null) {
  const realms = [...new Set([...Object.keys(restored), ...Object.keys(live ?? {})])].sort();
  const failures: string[] = [];
  if (Object.keys(restored).length === 0) failures.push('no Keycloak realm was restored (every Keycloak has master)');
  const lines = realms.map((realm) => {
    const r = restored[realm] ?? 0;
    const l = live?.[realm];
    const restoredText = realm in restored ? `${users(r)} restored` : 'not in the backup';
    if (r === 0 && l !== undefined && l > 0)
      failures.push(`realm ${realm}: ${users(l)} live, none restored: the backup lost them`);
    return `realm ${realm}: ${restoredText}, ${live === null ? 'live not counted' : `${l ?? 0} live`}`;
  });
  return { lines, failures };
}

export const keycloakUsers: RestoreFacts = {
  what: 'users per realm',
  sql: (engine) => SQL[engine],
  counts: usersPerRealm,
  judge,
};
