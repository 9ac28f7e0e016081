import { fail, pass, type Check } from '../../targets/check.js';
import { loadPatchSet } from '../../targets/patches.js';
import { patchAppliesAtTag } from '../../versions/gitTags.js';
import { upstreamOf } from './config.js';

/**
 * Every patch of the environment applies cleanly to the tree of the target version's tag (from the version
 * source's mirror), before anything changes: a conflict refuses the change here, not in the image build.
 */
export const patchesCheck: Check = {
  id: 'patches',
  appliesTo: (t) => !!t.envConfig.patches?.length,
  async run({ target, workspace, runner, toVersion, deployVersion }) {
    const set = loadPatchSet(workspace.loaded, target.service, target.env);
    if (!set) return pass('no patches');
    const version = deployVersion ?? toVersion;
    if (!version) return pass('no version to deploy given (--to): nothing to check');
    const url = workspace.gitUrl(upstreamOf(target));
    const results = await Promise.all(
      set.patches.map(async (p) => ({ p, r: await patchAppliesAtTag({ runner }, url, `v${version}`, p.content) })),
    );
    const bad = results.filter((x) => !x.r.ok);
    if (bad.length) {
      const why = bad.map(({ p, r }) => `${p.file} does not apply to ${version} (${r.message.split('\n').join('; ')})`);
      const files = [...new Set(bad.flatMap(({ p }) => p.touches))].join(', ');
      return fail(
        why.join('; '),
        `rebase the patch on v${version} (git checkout v${version} && git apply -3 PATCH; fix ${files}; ` +
          "git diff > PATCH), or drop it from the environment's patches in coopctl.yaml",
      );
    }
    return pass(`${set.patches.length} patch(es) apply to ${version} (set ${set.set.digest.slice(0, 12)})`);
  },
};
