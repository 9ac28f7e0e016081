import { newestSucceededChange } from '../history/records.js';
import type { TargetView } from '../pipeline/view.js';
import type { Finding } from '../targets/profile.js';
import { type LoadedPatchSet, patchedTag } from '../config/patches.js';

/** What the plan says of the patches a deploy of `to` carries. */
export function patchesFinding(patches: LoadedPatchSet | null, to: string): Finding[] {
  if (!patches) return [];
  const list = patches.patches.map((p) => `${p.file} (sha256 ${p.sha256.slice(0, 12)})`).join(', ');
  return [
    {
      id: 'patches',
      level: 'ok',
      message:
        `patches ${list}, set ${patches.set.digest.slice(0, 12)}: the host builds the image ` +
        `v${patchedTag(to, patches.set)} from the upstream one and runs it`,
    },
  ];
}

/**
 * The patches `version` runs with now, as the history tells: those of the newest succeeded change to it, read again
 * from the repo (what a recovery deploys `version` with); none when that change carried none, or when its patches
 * are no longer in the repo as they were (a recovery then deploys the upstream image; its record says which).
 */
export async function patchesRunning(view: TargetView, version: string): Promise<LoadedPatchSet | null> {
  const { records } = await view.history();
  return view.recordedPatches(newestSucceededChange(records, { to: version, restores: true }));
}
