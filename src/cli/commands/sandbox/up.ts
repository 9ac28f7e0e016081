import path from 'node:path';
import { InputError } from '../../../kernel/errors.js';
import type { CommandContext } from '../../context.js';
import { loadWorld, sandboxDir } from './common.js';

const LINKS = ['home', 'lan', 'none'] as const;

export async function run(
  ctx: CommandContext,
  opts: { dir?: string; extraHosts?: string; netns?: boolean; link?: string },
) {
  const extra = Number(opts.extraHosts ?? 0);
  if (!Number.isInteger(extra) || extra < 0 || extra > 64)
    throw new InputError(`--extra-hosts: "${opts.extraHosts}" must be a number from 0 to 64`);
  const link = LINKS.find((l) => l === opts.link);
  if (opts.link !== undefined && link === undefined)
    throw new InputError(`--link: "${opts.link}" is not one of ${LINKS.join(', ')}`);
  const world = await loadWorld();
  const dir = await sandboxDir(ctx, world, opts.dir);
  const started = Date.now();
  const { state, config, env } = await world.up({
    dir,
    extraHosts: extra,
    netns: opts.netns,
    link,
    log: (l) => ctx.printer.info(`• ${l}`),
  });
  const rel = path.relative(ctx.cwd, config) || config;
  if (ctx.global.json) {
    ctx.printer.json({
      dir,
      config,
      env,
      link: state.link ?? 'none',
      hosts: state.hosts,
      apps: state.coopcloud.apps,
      s3: state.s3,
    });
    return;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const where =
    state.mode === 'netns'
      ? `hosts in network namespaces, link ${state.link ?? 'none'}`
      : 'hosts on loopback ports; links are not shaped (that needs network namespaces: root)';
  const hosts = state.hosts
    .map(
      (h) => `${h.name} (ssh ${h.login ? `${h.login}@` : ''}${h.ssh.address}:${h.ssh.port}${h.login ? ', sudo' : ''})`,
    )
    .join(', ');
  ctx.printer.out(`sandbox up in ${seconds}s (${where}): ${hosts}`);
  const tries = ['status', 'preflight mastodon --env alpha --to 4.4.8', 'sandbox fault alpha health-fails'];
  // Its secrets are in its own pass store, which its coopctl.yaml names (secrets:); pass itself needs the variables.
  const exports = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  ctx.printer.out(
    `its secrets are in a pass store its coopctl.yaml names; for pass itself:\n  export ${exports.join(' ')}`,
  );
  ctx.printer.out(['try:', ...tries.map((t) => `  coopctl -c ${rel} ${t}`)].join('\n'));
}
