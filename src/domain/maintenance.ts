import { invalidInput } from './errors.ts';

/**
 * A weekly maintenance window. Approved executions of the actions it governs wait until
 * it is open; rollbacks never wait, because undoing a bad change must not be held back.
 */
export interface MaintenanceWindow {
  /** Shown on a waiting action, e.g. `prod weekend`. */
  name: string;
  /** Governs actions on resources in this account (AWS account id or kube context). */
  account?: string;
  /** Governs actions on resources carrying this tag, `key=value`, as the inventory saw it. */
  tag?: string;
  /** `<days> <HH:MM>-<HH:MM>`: `sat,sun 02:00-06:00`, `mon-fri 22:00-05:00`, `* 01:00-03:00`. */
  schedule: string;
  /** IANA time zone the schedule is read in, e.g. `Europe/Berlin`, `UTC`. */
  timezone: string;
}

export const MAX_WINDOWS = 50;

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const SCHEDULE = /^(\*|[a-z,-]+) ([0-2]\d):([0-5]\d)-([0-2]\d):([0-5]\d)$/;

interface Schedule {
  /** Days a window starts on, 0 = Sunday. */
  days: Set<number>;
  /** Minutes after midnight; `end <= start` crosses midnight into the next day. */
  start: number;
  end: number;
}

/**
 * Reads a schedule; throws `invalid_input` naming what is wrong, and where, as `where`
 * (the window's place in the list) says.
 */
export function parseSchedule(text: string, where = 'maintenance window schedule'): Schedule {
  const bad = (why: string) =>
    invalidInput(
      `${where} "${text}" ${why}; write it as <days> <HH:MM>-<HH:MM>, ` +
        'e.g. "sat,sun 02:00-06:00", "mon-fri 22:00-05:00" or "* 01:00-03:00"',
    );
  const trimmed = text.trim();
  const match = SCHEDULE.exec(trimmed.toLowerCase());
  if (!match) throw bad('is not in the expected form');
  const [, dayText, h1, m1, h2, m2] = match;
  const start = Number(h1) * 60 + Number(m1);
  const end = Number(h2) * 60 + Number(m2);
  if (start >= 24 * 60 || end > 24 * 60) throw bad('has an hour past 24:00');
  if (start === end) throw bad('is empty: it starts and ends at the same minute');
  const days = new Set<number>();
  if (dayText === '*') for (let d = 0; d < 7; d++) days.add(d);
  else {
    // The days as written, so a refusal quotes the user's own spelling.
    const written = trimmed.slice(0, dayText!.length).split(',');
    for (const [i, part] of dayText!.split(',').entries()) {
      const [from, to] = part.split('-');
      const a = DAYS.indexOf(from as (typeof DAYS)[number]);
      const b = to === undefined ? a : DAYS.indexOf(to as (typeof DAYS)[number]);
      if (a < 0 || b < 0 || part.split('-').length > 2) {
        throw bad(
          `names an unknown day "${written[i] ?? part}": days are ${DAYS.join(', ')}, ` +
            'a range of two such as mon-fri, or * for every day',
        );
      }
      for (let d = a; ; d = (d + 1) % 7) {
        days.add(d);
        if (d === b) break;
      }
    }
  }
  return { days, start, end };
}

/**
 * Checks a list of windows as a setting; a bad one refuses the whole list. `label` names the
 * list in refusals, with each window's place in it: `maintenanceWindows[2].schedule`.
 */
export function parseMaintenanceWindows(
  value: unknown,
  label = 'maintenanceWindows',
): MaintenanceWindow[] {
  if (!Array.isArray(value)) {
    throw invalidInput(`${label} must be a list of windows, [] for none`);
  }
  if (value.length > MAX_WINDOWS) {
    throw invalidInput(
      `${label} may hold at most ${MAX_WINDOWS} maintenance windows, got ${value.length}`,
    );
  }
  const names = new Set<string>();
  return value.map((item, i) => {
    const where = `${label}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      throw invalidInput(`${where} must be an object with name, schedule and timezone`);
    }
    const known = ['name', 'account', 'tag', 'schedule', 'timezone'];
    for (const key of Object.keys(item)) {
      if (!known.includes(key)) {
        throw invalidInput(`${where} has an unknown field "${key}"; known: ${known.join(', ')}`);
      }
    }
    const w = item as Record<string, unknown>;
    const text = (key: string, required: boolean, max = 200): string | undefined => {
      const v = w[key];
      if (v === undefined && !required) return undefined;
      if (v === undefined) {
        throw invalidInput(
          `${where}.${key} is missing; a window needs name, schedule and timezone`,
        );
      }
      if (typeof v !== 'string' || !v.trim() || v.length > max) {
        throw invalidInput(
          `${where}.${key} must be a non-empty string of at most ${max} characters`,
        );
      }
      return v.trim();
    };
    const window: MaintenanceWindow = {
      name: text('name', true, 100)!,
      schedule: text('schedule', true)!,
      timezone: text('timezone', true, 100)!,
    };
    const account = text('account', false);
    const tag = text('tag', false, 400);
    if (account !== undefined) window.account = account;
    if (tag !== undefined) {
      if (!/^[^=]+=.*$/.test(tag))
        throw invalidInput(`${where}.tag must be key=value, got "${tag}"`);
      window.tag = tag;
    }
    if (!account && !tag) {
      throw invalidInput(`${where} must govern an account or a tag (or both); it has neither`);
    }
    if (names.has(window.name))
      throw invalidInput(`${where}.name: two maintenance windows are named "${window.name}"`);
    names.add(window.name);
    parseSchedule(window.schedule, `${where}.schedule`);
    zoned(new Date(0), window.timezone, `${where}.timezone`);
    return window;
  });
}

/** Weekday (0 = Sunday) and minute of the day at `at` in `timezone`. */
function zoned(
  at: Date,
  timezone: string,
  where = 'maintenance window time zone',
): { day: number; minute: number } {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(at);
  } catch {
    throw invalidInput(
      `${where} "${timezone}" is an unknown time zone; use an IANA name such as UTC or ` +
        'Europe/Berlin',
    );
  }
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = DAYS.indexOf(get('weekday').toLowerCase() as (typeof DAYS)[number]);
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** Whether the window is open at `at`: started on a listed day and not yet ended. */
export function windowIsOpen(window: MaintenanceWindow, at: Date): boolean {
  const { days, start, end } = parseSchedule(window.schedule);
  const { day, minute } = zoned(at, window.timezone);
  if (end > start) return days.has(day) && minute >= start && minute < end;
  // Crossing midnight: the evening of a listed day, or the morning after one.
  return (days.has(day) && minute >= start) || (days.has((day + 6) % 7) && minute < end);
}

/** The next minute at or after `at` when the window opens; null if it never does. */
export function nextOpening(window: MaintenanceWindow, at: Date): Date | null {
  const first = new Date(Math.ceil(at.getTime() / 60_000) * 60_000);
  // A week of minutes covers every weekly schedule; time-zone shifts move it by an hour.
  for (let i = 0; i <= 8 * 24 * 60; i++) {
    const t = new Date(first.getTime() + i * 60_000);
    if (windowIsOpen(window, t)) return t;
  }
  return null;
}

export interface GovernedResource {
  account: string;
  tags: Record<string, string>;
}

export function governs(window: MaintenanceWindow, resource: GovernedResource): boolean {
  if (window.account !== undefined && window.account !== resource.account) return false;
  if (window.tag !== undefined) {
    const at = window.tag.indexOf('=');
    const key = window.tag.slice(0, at);
    if (resource.tags[key] !== window.tag.slice(at + 1)) return false;
  }
  return true;
}

export interface Waiting {
  /** The governing windows closed now; the execution waits for all of them. */
  windows: string[];
  /** When the last of them next opens, as far as each alone is concerned. */
  until: string | null;
  message: string;
}

/**
 * Why an approved execution on `resource` waits at `at`, or null when it may run. Every
 * window that governs a resource must be open: each is a separate team's rule.
 */
export function waitingFor(
  windows: readonly MaintenanceWindow[],
  resource: GovernedResource,
  at: Date,
): Waiting | null {
  const closed = windows.filter((w) => governs(w, resource) && !windowIsOpen(w, at));
  if (closed.length === 0) return null;
  const openings = closed.map((w) => nextOpening(w, at)?.getTime() ?? Infinity);
  const latest = Math.max(...openings);
  const until = Number.isFinite(latest) ? new Date(latest).toISOString() : null;
  const names = closed.map((w) => `"${w.name}" (${w.schedule} ${w.timezone})`).join(', ');
  return {
    windows: closed.map((w) => w.name),
    until,
    message: `waiting for maintenance window ${names}${until ? `; next opens ${until}` : ''}`,
  };
}
