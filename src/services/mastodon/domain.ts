import path from 'node:path/posix';
import { printable } from '../../kernel/validate.js';
import type { Target } from '../../targets/target.js';

/**
 * The instance's domain: LOCAL_DOMAIN and WEB_DOMAIN of `.env.production` on the host. Only those two lines are
 * read (grep on the host): the rest of the file is secrets. Unset ones are absent.
 */
export async function instanceDomains(t: Target): Promise<{ file: string; local?: string; web?: string }> {
  const file = path.join(t.paths.dataDir, '.env.production');
  const r = await t.remote.exec(['grep', '-E', '^(LOCAL_DOMAIN|WEB_DOMAIN)=', file], {
    mutates: false,
    reject: false,
    timeoutMs: 30_000,
  });
  // grep: 0 lines found, 1 none, 2 the file cannot be read
  if (r.exitCode > 1) throw new Error(`${t.host.name}: cannot read ${file}: ${r.stderr.trim().split('\n')[0]}`);
  const value = (key: string) => {
    const m = new RegExp(`^${key}=(.*)$`, 'm').exec(r.stdout)?.[1]?.trim();
    return m ? printable(m.replace(/^(["'])(.*)\1$/, '$2')) : undefined;
  };
  return { file, local: value('LOCAL_DOMAIN'), web: value('WEB_DOMAIN') };
}
