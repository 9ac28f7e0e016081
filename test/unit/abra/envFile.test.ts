import { describe, expect, it } from 'vitest';
import { composeFiles, parseEnvFile, sampleKeys } from '../../../src/drivers/abra/envFile.js';
import { fixtureRecipe } from '../../world/coopcloud/recipes.js';

describe('env files as abra reads them', () => {
  it('reads KEY=value lines, export, quotes, escapes and inline comments; lines are 1-based', () => {
    const env = parseEnvFile(
      [
        '# a comment',
        'TYPE=bonfire:2.0.1+1.0.6-social-amd64',
        '',
        'export DOMAIN=bonfire.social.coop',
        "SINGLE='kept $DOMAIN # as is'",
        'DOUBLE="a \\"quoted\\" ${DOMAIN}\\n"',
        'BARE=v1 # length=128',
        'HASH=a#b',
        '  SPACED = value  ',
        'EMPTY=',
      ].join('\n'),
    );
    expect(env.vars).toEqual({
      TYPE: 'bonfire:2.0.1+1.0.6-social-amd64',
      DOMAIN: 'bonfire.social.coop',
      SINGLE: 'kept $DOMAIN # as is',
      DOUBLE: 'a "quoted" bonfire.social.coop\n',
      BARE: 'v1',
      HASH: 'a#b',
      SPACED: 'value',
      EMPTY: '',
    });
    expect(env.lines).toMatchObject({ TYPE: 2, DOMAIN: 4, EMPTY: 10 });
    expect(env.invalid).toEqual([]);
  });

  it('expands $VAR and ${VAR} from earlier keys only; CRLF files and multi-line quoted values', () => {
    const env = parseEnvFile('A=1\r\nB=$A-${A}-$LATER\r\nKEY="line one\nline two"\nLATER=x\nAFTER=y\n');
    expect(env.vars).toEqual({ A: '1', B: '1-1-', KEY: 'line one\nline two', LATER: 'x', AFTER: 'y' });
    expect(env.lines).toMatchObject({ KEY: 3, LATER: 5 });
  });

  it('names the lines that are not KEY=value, and an unterminated quote', () => {
    const env = parseEnvFile('GOOD=1\nthis is not a setting\n=nokey\nOPEN="never closed\n');
    expect(env.vars).toEqual({ GOOD: '1' });
    expect(env.invalid).toEqual([2, 3, 4]);
  });

  it("a sample's keys are its uncommented KEY= lines (bonfire's SSO lines are commented out)", () => {
    const bonfire = fixtureRecipe('bonfire').releases[0].files['.env.sample'];
    const keys = sampleKeys(bonfire);
    expect(keys).toContain('TYPE');
    expect(keys).toContain('COMPOSE_FILE');
    expect(keys).toContain('SECRET_SECRET_KEY_BASE_VERSION');
    expect(keys.filter((k) => k.startsWith('OPENID') || k === 'DISABLE_DB_AUTOMIGRATION')).toEqual([]);
  });
});

describe('COMPOSE_FILE', () => {
  it("names compose files separated by ':', building on its earlier value", () => {
    const env = parseEnvFile(
      'COMPOSE_FILE="compose.yml"\nCOMPOSE_FILE="$COMPOSE_FILE:compose.meilisearch.yml"\n' +
        'COMPOSE_FILE=${COMPOSE_FILE}:compose.auth.openid.yml: \n#COMPOSE_FILE="$COMPOSE_FILE:compose.smtp.yml"\n',
    );
    expect(composeFiles(env)).toEqual(['compose.yml', 'compose.meilisearch.yml', 'compose.auth.openid.yml']);
    expect(env.lines.COMPOSE_FILE).toBe(3);
  });

  it("is abra's compose.yml when the env does not set it", () => {
    expect(composeFiles(parseEnvFile('TYPE=bonfire\n'))).toEqual(['compose.yml']);
  });
});
