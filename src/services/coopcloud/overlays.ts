import { abraClient, abraConfig } from '../../drivers/abra/app.js';
import { composeFiles, readAppEnv } from '../../drivers/abra/envFile.js';
import { releaseNotePath } from '../../drivers/abra/recipeTags.js';
import { compareRecipeVersions, isOrdered, parseRecipeVersion } from '../../drivers/abra/recipeVersion.js';
import { errorMessage } from '../../kernel/errors.js';
import { pass, warn } from '../../targets/check.js';
import type { Finding } from '../../targets/profile.js';
import type { Check, Target } from '../../targets/target.js';
import type { RunContext } from '../../targets/runContext.js';

function firstLine(text: string | undefined): string | undefined {
  return text
    ?.split('\n')
    .map((l) => l.trim())
    .find(Boolean);
}

/**
 * Compose files the app's env enables (COMPOSE_FILE) that the recipe's tree at `to` lacks (Bonfire 2.0.0 removed
 * meilisearch's overlay): warnings naming the release in (current, to] that removed each, with its note.
 */
async function removedOverlays(context: RunContext, t: Target, current: string, to: string): Promise<Finding[]> {
  const { recipe } = abraConfig(t);
  const { file, env } = await readAppEnv(context, t);
  if (!env) return [];
  const abra = abraClient(context);
  const at = (tag: string, f: string) => abra.recipes.fileAt(recipe, tag, f);
  const from = parseRecipeVersion(current);
  const target = parseRecipeVersion(to);
  const range = (await abra.recipeVersions(recipe))
    .filter((r) => target && isOrdered(target) && compareRecipeVersions(r.parsed, target) <= 0)
    .filter((r) => !from || !isOrdered(from) || compareRecipeVersions(r.parsed, from) > 0)
    .map((r) => r.version);
  const where = `COMPOSE_FILE in ${file}`;
  const line = env.lines.COMPOSE_FILE ? ` (line ${env.lines.COMPOSE_FILE})` : '';
  const fix = (f: string) => `remove ${f} from COMPOSE_FILE in ${file}${line} before the upgrade`;
  const findings: Finding[] = [];
  for (const f of composeFiles(env)) {
    if ((await at(to, f)) !== undefined) continue;
    let removedBy: string | undefined;
    if ((await at(current, f)) !== undefined) {
      for (const v of range) {
        if ((await at(v, f)) === undefined) {
          removedBy = v;
          break;
        }
      }
    }
    if (!removedBy) {
      findings.push({
        id: 'removed-overlay',
        level: 'warn',
        message: `the env enables ${f} (${where}), which ${recipe} ${to} does not have`,
        fix: fix(f),
      });
      continue;
    }
    const note = firstLine(
      (await at(to, releaseNotePath(removedBy))) ?? (await at(removedBy, releaseNotePath(removedBy))),
    );
    findings.push({
      id: 'removed-overlay',
      level: 'warn',
      message: `the env enables ${f} (${where}), which ${removedBy} removed${note ? `: ${note}` : ''}`,
      fix: fix(f),
    });
  }
  return findings;
}

/** The change review's removed overlays, as a preflight check of `preflight --to` (and of an upgrade). */
export const composeOverlaysCheck: Check = {
  id: 'compose-overlays',
  needs: ['abra'],
  async run({ context, target, facts, toVersion }) {
    if (!toVersion) return pass('no --to given: nothing to compare the compose files with');
    const current = await facts.runningVersion();
    const findings = await removedOverlays(context, target, current, toVersion);
    if (findings.length) return warn(findings.map((f) => f.message).join('; '), findings[0].fix);
    return pass(`every compose file the env enables exists at ${toVersion}`);
  },
};

/** removedOverlays for a plan: what cannot be read is a warning of its own, never a crash of the plan. */
export async function overlayFindings(context: RunContext, t: Target, current: string, to: string): Promise<Finding[]> {
  try {
    return await removedOverlays(context, t, current, to);
  } catch (err) {
    return [
      {
        id: 'removed-overlay',
        level: 'warn',
        message: `could not compare the env's compose files with ${to}: ${errorMessage(err).split('\n')[0]}`,
      },
    ];
  }
}
