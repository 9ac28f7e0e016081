import { describe, expect, it } from 'vitest';
import { definedKeys, interpolate, parseEnv, recipeOf, withTypeVersion } from '../../doubles/abra/envFile.js';

describe("the double's env files", () => {
  const text = [
    'TYPE=bonfire:1.0.0+1.0.5-social-amd64',
    '# a comment',
    'export DOMAIN=bonfire.social.coop',
    'COMPOSE_FILE="compose.yml"',
    'COMPOSE_FILE="$COMPOSE_FILE:compose.auth.openid.yml"',
    "SITENAME='My $Wiki'",
    'SECRET_SIGNING_SALT_VERSION=v1 # length=128',
    '#OPENID_1_SCOPE=openid',
    '',
  ].join('\n');

  it('parses docker env-file lines the way abra reads them', () => {
    expect(parseEnv(text)).toEqual({
      TYPE: 'bonfire:1.0.0+1.0.5-social-amd64',
      DOMAIN: 'bonfire.social.coop',
      COMPOSE_FILE: 'compose.yml:compose.auth.openid.yml',
      SITENAME: 'My $Wiki',
      SECRET_SIGNING_SALT_VERSION: 'v1',
    });
    expect(definedKeys(text)).not.toContain('OPENID_1_SCOPE');
  });

  it('splits TYPE into recipe and pinned version', () => {
    expect(recipeOf({ TYPE: 'bonfire' })).toEqual({ recipe: 'bonfire' });
    expect(recipeOf({ TYPE: 'bonfire:2.0.1+1.0.6-social-amd64' })).toEqual({
      recipe: 'bonfire',
      version: '2.0.1+1.0.6-social-amd64',
    });
    expect(recipeOf({ RECIPE: 'wiki' })).toEqual({ recipe: 'wiki' });
  });

  it('rewrites only the TYPE line', () => {
    const out = withTypeVersion(text, 'bonfire', '2.0.1+1.0.6-social-amd64');
    expect(out.split('\n')[0]).toBe('TYPE=bonfire:2.0.1+1.0.6-social-amd64');
    expect(out.split('\n').slice(1)).toEqual(text.split('\n').slice(1));
    expect(withTypeVersion('DOMAIN=x\n', 'r', '1.0.0+a')).toBe('TYPE=r:1.0.0+a\nDOMAIN=x\n');
  });

  it('interpolates compose defaults', () => {
    expect(interpolate('${A:-x}/${B-y}/${C}/$D', { A: '', B: '', D: 'd' })).toBe('x//' + '/d');
  });
});
