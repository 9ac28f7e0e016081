import { describe, expect, it } from 'vitest';
import { parseReport } from '../../../src/backup/hostOutput.js';
import { keycloakUsers } from '../../../src/services/coopcloud/keycloakUsers.js';
import { coopcloudAppProfile } from '../../../src/services/coopcloud/profile.js';
import type { Target } from '../../../src/targets/target.js';

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();

describe("Keycloak's users per realm (the restore test's facts)", () => {
  it('asks each engine for the realms by their case of the table names, names hex-encoded, and an end line', () => {
    expect(keycloakUsers.sql('mariadb')).toContain('FROM REALM r LEFT JOIN USER_ENTITY u ON u.REALM_ID = r.ID');
    expect(keycloakUsers.sql('mariadb')).toContain('hex(coalesce(r.NAME, r.ID))');
    expect(keycloakUsers.sql('postgres')).toContain('FROM realm r LEFT JOIN user_entity u ON u.realm_id = r.id');
    for (const engine of ['mariadb', 'postgres'] as const) expect(keycloakUsers.sql(engine)).toMatch(/'end', '';\n$/);
  });

  it('reads realm names of any text (tabs, non-ASCII) from the hex keys; other lines are ignored', () => {
    const answer = [
      `realm:${hex('master')}\t1`,
      `realm:${hex('social.coop')}\t412`,
      `realm:${hex('tab\there ünïcode')}\t0`,
      'realm:zz\t3',
      `realm:${hex('x')}\tNULL`,
      'end\t',
    ].join('\n');
    expect(keycloakUsers.counts(parseReport(answer).values)).toEqual({
      master: 1,
      'social.coop': 412,
      'tab\there ünïcode': 0,
    });
  });

  it('reports each realm restored against live; more or fewer users than live is no failure', () => {
    const r = keycloakUsers.judge({ master: 1, 'social.coop': 412 }, { master: 1, 'social.coop': 413 });
    expect(r).toEqual({
      lines: ['realm master: 1 user restored, 1 live', 'realm social.coop: 412 users restored, 413 live'],
      failures: [],
    });
    expect(keycloakUsers.judge({ 'social.coop': 5 }, { 'social.coop': 2, gone: 0 }).failures).toEqual([]);
  });

  it('fails a realm with live users and none restored, also when the realm is not in the backup', () => {
    const r = keycloakUsers.judge({ master: 1, 'social.coop': 0 }, { master: 1, 'social.coop': 413, new: 2 });
    expect(r.lines).toEqual([
      'realm master: 1 user restored, 1 live',
      'realm new: not in the backup, 2 live',
      'realm social.coop: 0 users restored, 413 live',
    ]);
    expect(r.failures).toEqual([
      'realm new: 2 users live, none restored: the backup lost them',
      'realm social.coop: 413 users live, none restored: the backup lost them',
    ]);
  });

  it('without live counts: the restored realms are reported; no realm at all fails', () => {
    expect(keycloakUsers.judge({ master: 1, 'social.coop': 0 }, null)).toEqual({
      lines: [
        'realm master: 1 user restored, live not counted',
        'realm social.coop: 0 users restored, live not counted',
      ],
      failures: [],
    });
    expect(keycloakUsers.judge({}, null).failures).toEqual([
      'no Keycloak realm was restored (every Keycloak has master)',
    ]);
  });

  it('the Co-op Cloud profile counts them for the keycloak recipe only', () => {
    const target = (recipe: string) =>
      ({
        service: 'x',
        env: 'prod',
        serviceConfig: { recipe, environments: { prod: { server: 'hypha', domain: 'x.social.coop' } } },
      }) as unknown as Target;
    expect(coopcloudAppProfile.restoreFacts?.(target('keycloak'))).toBe(keycloakUsers);
    expect(coopcloudAppProfile.restoreFacts?.(target('mediawiki'))).toBeUndefined();
  });
});
