/**
 * The OnCalendar expressions `schedule:` takes: the weekly subset of systemd.time(5) ("Calendar Events",
 * https://www.freedesktop.org/software/systemd/man/systemd.time.html): `[WEEKDAYS] [*-*-*] [H:M[:S]]`, weekdays
 * as names, lists and `..` ranges; hours and minutes as `*`, numbers, lists, `a..b` ranges and `a/step` repetitions;
 * the shorthands minutely, hourly, daily and weekly. Dates other than `*-*-*` (monthly, yearly, a day of the month)
 * are refused: freshness needs a period, the largest gap between two runs, and this subset repeats every week.
 */
interface Calendar {
  /** The largest gap between two consecutive runs, in ms. */
  periodMs: number;
}

const FULL_DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

// source: systemd src/shared/calendarspec.c (parse_calendar_time shorthands): minutely, hourly, daily, weekly
const SHORTHANDS: Record<string, string> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
};

function dayIndex(word: string): number {
  const w = word.toLowerCase();
  const i = FULL_DAYS.findIndex((d) => d === w || d.slice(0, 3) === w);
  if (i < 0) throw new Error(`"${word}" is not a weekday (Mon..Sun)`);
  return i;
}

function weekdays(text: string): number[] {
  const days = new Set<number>();
  for (const part of text.split(',')) {
    const [a, b] = part.split('..');
    if (b === undefined) days.add(dayIndex(a));
    else for (let d = dayIndex(a); d <= dayIndex(b); d++) days.add(d);
  }
  return [...days].sort((x, y) => x - y);
}

/** One field of the time: `*`, `n`, `a..b`, `a/step`, `*\/step`, comma lists of those. */
function values(text: string, max: number, what: string): number[] {
  const out = new Set<number>();
  const num = (s: string) => {
    if (!/^\d{1,2}$/.test(s) || Number(s) > max) throw new Error(`${what} "${s}" is not 0..${max}`);
    return Number(s);
  };
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : num(stepText);
    if (step === 0) throw new Error(`${what} step must not be 0`);
    let from: number;
    let to: number;
    if (range === '*') [from, to] = [0, max];
    else if (range.includes('..')) [from, to] = range.split('..').map(num) as [number, number];
    else [from, to] = [num(range), stepText === undefined ? num(range) : max];
    for (let v = from; v <= to; v += step) out.add(v);
  }
  return [...out].sort((x, y) => x - y);
}

/** Parses an OnCalendar expression of the subset; throws with the reason. */
export function parseCalendar(expression: string): Calendar {
  const word = expression.trim().toLowerCase();
  if (/^(monthly|yearly|annually|quarterly|semiannually)$/.test(word)) {
    throw new Error('only the date *-*-* is taken (a weekly schedule): not monthly or longer');
  }
  const text = SHORTHANDS[word] ?? expression.trim();
  const words = text.split(/\s+/).filter(Boolean);
  let days = [0, 1, 2, 3, 4, 5, 6];
  if (words[0] && /^[a-z]/i.test(words[0])) days = weekdays(words.shift()!);
  if (words[0]?.includes('-')) {
    if (words.shift() !== '*-*-*') throw new Error('only the date *-*-* is taken (a weekly schedule)');
  }
  const time = words.shift() ?? '00:00:00';
  if (words.length) throw new Error(`unexpected "${words.join(' ')}"`);
  const parts = time.split(':');
  if (parts.length < 2 || parts.length > 3) throw new Error(`"${time}" is not a time (H:M or H:M:S)`);
  const [h, m, s = '00'] = parts;
  if (!/^\d{1,2}$/.test(s) || Number(s) > 59) throw new Error(`seconds "${s}" must be one number 0..59`);
  const hours = values(h, 23, 'hour');
  const minutes = values(m, 59, 'minute');
  const week: number[] = [];
  for (const d of days) for (const hh of hours) for (const mm of minutes) week.push(((d * 24 + hh) * 60 + mm) * 60);
  let gap = 0;
  for (let i = 0; i < week.length; i++) {
    const next = i + 1 < week.length ? week[i + 1] : week[0] + 7 * 86_400;
    gap = Math.max(gap, next - week[i]);
  }
  return { periodMs: gap * 1000 };
}

/** undefined when the expression is of the subset, else why not. */
export function calendarProblem(expression: string): string | undefined {
  try {
    parseCalendar(expression);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
