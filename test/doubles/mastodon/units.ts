/** systemd unit files: the sections, keys and Exec lines the systemctl stand-in needs. */
// source: systemd.syntax(7) (https://www.freedesktop.org/software/systemd/man/systemd.syntax.html: [Section],
// Key=Value, # and ; comments, backslash continuation) and systemd.unit(5) (an empty assignment resets a list)
export type UnitFile = Record<string, Record<string, string[]>>;

export function parseUnit(text: string): UnitFile {
  const unit: UnitFile = {};
  let section = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      unit[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !section) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const values = (unit[section][key] ??= []);
    // An empty assignment resets a list-valued setting, as in systemd.
    if (value === '') values.length = 0;
    else values.push(value);
  }
  return unit;
}

export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unit[section]?.[key]?.at(-1);
}

export function unitValues(unit: UnitFile, section: string, key: string): string[] {
  return unit[section]?.[key] ?? [];
}

export interface ExecLine {
  argv: string[];
  /** `-` prefix: a failure is ignored. */
  ignoreFailure: boolean;
}

/** Splits an Exec*= value the way systemd does (whitespace, single and double quotes, special prefixes). */
// source: systemd.service(5) ExecStart=: a "-" prefix means a failing exit code is recorded but ignored
export function parseExec(value: string): ExecLine {
  let rest = value.trim();
  let ignoreFailure = false;
  while (/^[-@+!:]/.test(rest)) {
    if (rest[0] === '-') ignoreFailure = true;
    rest = rest.slice(1);
  }
  const argv: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let inWord = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && i + 1 < rest.length) cur += rest[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) argv.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) argv.push(cur);
  return { argv, ignoreFailure };
}

/** Environment=K=V "K2=V 2" lines. */
export function unitEnvironment(unit: UnitFile): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unitValues(unit, 'Service', 'Environment')) {
    for (const assignment of parseExec(line).argv) {
      const eq = assignment.indexOf('=');
      if (eq > 0) env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}
