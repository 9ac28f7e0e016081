import { InputError } from '../../kernel/errors.js';
import type { RunResult } from '../../kernel/process.js';
import { printable } from '../../kernel/validate.js';
import { finding } from '../../targets/doctor.js';
import type { DoctorContext, DoctorProbe } from '../../targets/target.js';

/** A program coopctl runs on a host, and how its version is read. */
export interface HostTool {
  /** As the report names it (`docker compose`). */
  subject: string;
  /** The program looked up on PATH (`docker`). */
  bin: string;
  /** What prints the version, e.g. ['rclone', 'version']. */
  versionArgv: readonly string[];
  /** The version in that output (group 1). */
  version: RegExp;
  /** Why coopctl needs it on this host; undefined when it does not (what is there is still reported). */
  neededFor(ctx: DoctorContext): string | undefined;
  /** What fails without it, and how it is installed (`apt-get install rclone` by default). */
  whenMissing: string;
  install?: string;
}

/**
 * The tool's version command, run only when `command -v` finds it (exit 127 otherwise, whether or not sudo is in
 * front: `sudo` says "command not found" with exit 1 for a missing program), output and errors together.
 */
export function toolVersionCommand(tool: Pick<HostTool, 'bin' | 'versionArgv'>): string[] {
  const script = 'command -v "$0" >/dev/null 2>&1 || exit 127; exec "$@" 2>&1';
  return ['sh', '-c', script, tool.bin, ...tool.versionArgv];
}

/** A local command's result; null when its program is not installed (the runner's `missing-tool`). */
export function installed(run: Promise<RunResult>): Promise<RunResult | null> {
  return run.catch((err: unknown) => {
    if (err instanceof InputError && err.code === 'missing-tool') return null;
    throw err;
  });
}

/** The first line of a tool's output, safe to print and paste. */
export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? '';
  return printable(line.trim().slice(0, 200)) || '(no output)';
}

type ToolAnswer =
  | { kind: 'missing' }
  | { kind: 'failed'; exitCode: number; line: string }
  | { kind: 'unparsed'; line: string }
  | { kind: 'version'; version: string; line: string };

/** What a version command's result says: the version, or why there is none. */
export function readToolAnswer(tool: Pick<HostTool, 'version'>, exitCode: number, output: string): ToolAnswer {
  if (exitCode === 127) return { kind: 'missing' };
  const line = firstLine(output);
  if (exitCode !== 0) return { kind: 'failed', exitCode, line };
  const m = tool.version.exec(output);
  return m ? { kind: 'version', version: m[1], line } : { kind: 'unparsed', line };
}

/** A host probe reporting one tool: its version, or that it is missing, and whether coopctl needs it there. */
export function toolProbe(tool: HostTool): DoctorProbe {
  return {
    id: `tool:${tool.subject.replace(/\s+/g, '-')}`,
    scope: 'host',
    async run(ctx) {
      const host = ctx.target.host.name;
      const r = await ctx.target.remote.exec(toolVersionCommand(tool), {
        mutates: false,
        reject: false,
        timeoutMs: 30_000,
      });
      const a = readToolAnswer(tool, r.exitCode, `${r.stdout}\n${r.stderr}`);
      const need = tool.neededFor(ctx);
      const assumes = need ?? `coopctl does not need ${tool.subject} on ${host}`;
      const say = (status: 'ok' | 'fail' | 'unknown', found: string, action: string) => [
        finding(`tool:${tool.subject.replace(/\s+/g, '-')}`, tool.subject, status, { found, assumes, action }),
      ];
      if (a.kind === 'missing') {
        if (!need) return say('ok', `not installed on ${host}`, 'nothing: it is not used there');
        const action = `${tool.whenMissing}: ${tool.install ?? `apt-get install ${tool.bin}`} on ${host}`;
        return say('fail', `${tool.bin} is not on PATH on ${host}`, action);
      }
      if (a.kind === 'failed') {
        const found = `\`${tool.versionArgv.join(' ')}\` exited ${a.exitCode}: ${a.line}`;
        return need ? say('fail', found, `${tool.whenMissing}: repair it on ${host}`) : say('unknown', found, '');
      }
      if (a.kind === 'unparsed') {
        const found = `no version in \`${tool.versionArgv.join(' ')}\`: ${a.line}`;
        return say('unknown', found, 'coopctl relies on it without knowing its version');
      }
      return say('ok', `${a.version} (${a.line})`, need ? 'uses it as it is' : 'nothing: it is not used there');
    },
  };
}
