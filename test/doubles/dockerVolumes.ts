/**
 * `docker volume` on the sandbox's Co-op Cloud server: the local volumes the world made for an app's stack
 * (test/world/coopcloud/volumes.ts), each a directory `R/var/lib/docker/volumes/NAME/_data` standing for Docker's
 * `/var/lib/docker/volumes/NAME/_data` (root's, as Docker's are).
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { has, parseArgs, tabulate, UsageError } from './dockerArgs.js';

export function volumesDir(root: string): string {
  return path.join(root, 'var', 'lib', 'docker', 'volumes');
}

/** Where a volume's files are: its Mountpoint. */
export function volumeMountpoint(root: string, name: string): string {
  return path.join(volumesDir(root), name, '_data');
}

// source: https://docs.docker.com/reference/cli/docker/volume/inspect/ (the JSON array: CreatedAt, Driver "local",
// Labels, Mountpoint ".../volumes/NAME/_data", Name, Options, Scope "local"); a stack's volume carries the label
// com.docker.stack.namespace (moby/moby PR #28904, "Use namespace label on stack volumes")
interface VolumeDoc {
  CreatedAt: string;
  Driver: string;
  Labels: Record<string, string>;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: string;
}

function inspectVolume(root: string, name: string): VolumeDoc | undefined {
  const mountpoint = volumeMountpoint(root, name);
  let created: Date;
  try {
    created = statSync(path.dirname(mountpoint)).birthtime;
  } catch {
    return undefined;
  }
  const stack = /^(.+)_[^_]+$/.exec(name)?.[1];
  return {
    CreatedAt: created.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    Driver: 'local',
    Labels: stack ? { 'com.docker.stack.namespace': stack } : {},
    Mountpoint: mountpoint,
    Name: name,
    Options: null,
    Scope: 'local',
  };
}

/** `--format`: json, `{{json .}}`, or one field `{{ .Field }}`; anything else the sandbox cannot render. */
function render(doc: VolumeDoc, format: string): string {
  if (format === 'json' || /^\{\{\s*json\s+\.\s*\}\}$/.test(format)) return JSON.stringify(doc);
  const field = /^\{\{\s*\.(\w+)\s*\}\}$/.exec(format)?.[1];
  if (field && field in doc) {
    const v = doc[field as keyof VolumeDoc];
    return typeof v === 'string' ? v : JSON.stringify(v);
  }
  throw new UsageError(`the sandbox's docker formats volumes as json or {{ .Field }} only, not ${format}`);
}

const out = (line: string) => process.stdout.write(`${line}\n`);

// source: recorded real output (a missing volume: "Error response from daemon: get NAME: no such volume", exit 1;
// quoted from a LangGraph Studio start log in its README); each found volume is printed, the missing ones make the exit 1
function inspect(root: string, args: string[]): number {
  const p = parseArgs(args, [], ['-f', '--format']);
  if (!p.positionals.length) throw new UsageError('"docker volume inspect" requires at least 1 argument.');
  const format = [...(p.flags.get('--format') ?? []), ...(p.flags.get('-f') ?? [])].at(-1);
  const docs: VolumeDoc[] = [];
  let code = 0;
  for (const name of p.positionals) {
    const doc = inspectVolume(root, name);
    if (doc) docs.push(doc);
    else {
      process.stderr.write(`Error response from daemon: get ${name}: no such volume\n`);
      code = 1;
    }
  }
  if (format) for (const d of docs) out(render(d, format));
  else out(JSON.stringify(docs, null, 4));
  return code;
}

function names(root: string): string[] {
  try {
    return readdirSync(volumesDir(root), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return [];
  }
}

// source: https://docs.docker.com/reference/cli/docker/volume/ls/ (columns DRIVER, VOLUME NAME; -q: names only)
function ls(root: string, args: string[]): number {
  const p = parseArgs(args, ['-q', '--quiet'], ['-f', '--filter', '--format']);
  if (p.flags.has('-f') || p.flags.has('--filter'))
    throw new UsageError("the sandbox's docker lists volumes without filters");
  const format = p.flags.get('--format')?.at(-1);
  const docs = names(root).map((n) => inspectVolume(root, n)!);
  if (has(p, '-q', '--quiet')) for (const d of docs) out(d.Name);
  else if (format) for (const d of docs) out(render(d, format));
  else for (const line of tabulate([['DRIVER', 'VOLUME NAME'], ...docs.map((d) => [d.Driver, d.Name])])) out(line);
  return 0;
}

/** `docker volume inspect|ls ...`. */
export function volumeCommand(root: string, args: string[]): number {
  const [sub, ...rest] = args;
  if (sub === 'inspect') return inspect(root, rest);
  if (sub === 'ls' || sub === 'list') return ls(root, rest);
  throw new UsageError(`docker volume: the sandbox's docker knows inspect and ls, not ${sub ?? '(none)'}`);
}
