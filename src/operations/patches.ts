import { HistoryStore } from '../history/records.js';
import type { Finding } from '../targets/profile.js';
import { type LoadedPatchSet, loadRecordedPatchSet, patchedTag, recordedPatchSet } from '../config/patches.js';
import type { Target } from '../targets/target.js';
import type { Workspace } from '../workspace/workspace.js';

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
export async function patchesRunning(ws: Workspace, t: Target, version: string): Promise<LoadedPatchSet | null> {
  const records = await new HistoryStore(t.remote, t.paths.stateDir).list(t.service, t.env, 50);
  const last = records.find((r) => r.status === 'succeeded' && r.to === version);
  const ran = recordedPatchSet(last);
  return ran ? loadRecordedPatchSet(ws.loaded, ran) : null;
}
