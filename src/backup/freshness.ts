import { parseCalendar } from '../config/calendar.js';
import type { ScheduleConfig } from '../config/schema.js';
import type { Manifest } from './manifest.js';

/**
 * Freshness judged from the backups themselves, never from the timers: a timer that silently stopped (or runs and
 * fails) leaves the newest backup, or the newest restore test, older than the schedule's period plus its grace.
 */
export interface FreshnessOf {
  /** The newest one (ISO time), or null when there is none. */
  at: string | null;
  /** How old it may be: the timer's period (the largest gap between two runs) + schedule.grace. */
  limitMs: number;
  stale: boolean;
}

export interface Freshness {
  backup: FreshnessOf;
  restoreTest: FreshnessOf;
}

/** The newest passing restore test (a scratch restore) recorded in any of the manifests. */
function newestRestoreTest(backups: readonly Manifest[]): string | null {
  let newest: string | null = null;
  for (const m of backups) {
    for (const v of m.verifications) {
      if (v.kind === 'restore-scratch' && v.ok && (!newest || Date.parse(v.at) > Date.parse(newest))) newest = v.at;
    }
  }
  return newest;
}

function judge(at: string | null, onCalendar: string, graceMs: number, now: number): FreshnessOf {
  const limitMs = parseCalendar(onCalendar).periodMs + graceMs;
  return { at, limitMs, stale: at === null || now - Date.parse(at) > limitMs };
}

/** Newest backup and restore test of one service × environment (its manifests, any order) against the schedule. */
export function judgeFreshness(backups: readonly Manifest[], schedule: ScheduleConfig, now = Date.now()): Freshness {
  const newestBackup = backups.reduce<string | null>(
    (n, m) => (!n || Date.parse(m.createdAt) > Date.parse(n) ? m.createdAt : n),
    null,
  );
  return {
    backup: judge(newestBackup, schedule.backup.onCalendar, schedule.grace, now),
    restoreTest: judge(newestRestoreTest(backups), schedule.restoreTest.onCalendar, schedule.grace, now),
  };
}
