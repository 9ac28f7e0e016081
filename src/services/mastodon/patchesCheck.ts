import { fail, pass } from '../../targets/check.js';
import { loadPatchSet } from '../../config/patches.js';
import { patchesApplyAtTag } from '../../versions/gitTags.js';
import { upstreamOf } from './config.js';
import type { Check } from '../../targets/target.js';

/**
 * The environment's patches apply cleanly to the tree of the target version's tag (from the version source's
 * mirror) one after the other, in the order the image build applies them (the config's), before anything
 * changes: a conflict, with the tag or with a patch before it, refuses the change here, not in the image build.
 */
export const patchesCheck: Check = {
  id: 'patches',
  appliesTo: (t) => !!t.envConfig.patches?.length,
  async run({ target, context, runner, toVersion, deployVersion }) {
    const set = loadPatchSet(context.loaded, target.service, target.env);
    if (!set) return pass('no patches');
    const version = deployVersion ?? toVersion;
    if (!version) return pass('no version to deploy given (--to): nothing to check');
    const url = context.gitUrl(upstreamOf(target));
    const texts = set.patches.map((p) => p.content);
    const r = await patchesApplyAtTag({ runner }, url, `v${version}`, texts);
    if (!r.ok) {
      const p = set.patches[r.failed];
      const before = set.patches.slice(0, r.failed).map((x) => x.file);
      const after = before.length ? ` after ${before.join(', ')}` : '';
      const first = before.length ? `, git apply ${before.join(' ')}, git commit -a` : '';
      return fail(
        `${p.file} does not apply to ${version}${after} (${r.message.split('\n').join('; ')})`,
        `rebase it (git checkout v${version}${first}, git apply -3 ${p.file}; fix ${p.touches.join(', ')}; ` +
          `git diff > ${p.file}), or drop it from the environment's patches in coopctl.yaml`,
      );
    }
    return pass(`${set.patches.length} patch(es) apply to ${version} in order (set ${set.set.digest.slice(0, 12)})`);
  },
};
