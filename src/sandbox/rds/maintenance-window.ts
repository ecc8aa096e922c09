import { invalidValue } from './errors.ts';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const END = '(sun|mon|tue|wed|thu|fri|sat):([01]\\d|2[0-3]):([0-5]\\d)';
const WINDOW = new RegExp(`^${END}-${END}$`);

/** Minutes since Sunday 00:00 UTC for each end of `ddd:hh24:mi-ddd:hh24:mi`. */
function parse(window: string): [number, number] | null {
  const m = WINDOW.exec(window.toLowerCase());
  if (!m) return null;
  const at = (day: string, h: string, min: string) =>
    DAYS.indexOf(day) * 1440 + Number(h) * 60 + Number(min);
  return [at(m[1]!, m[2]!, m[3]!), at(m[4]!, m[5]!, m[6]!)];
}

/** Refuses a maintenance window RDS would refuse: malformed, or under 30 minutes. */
export function checkMaintenanceWindow(window: string): void {
  const range = parse(window);
  const length = range ? (range[1] - range[0] + 7 * 1440) % (7 * 1440) : 0;
  if (!range || length < 30) {
    throw invalidValue(
      `Invalid maintenance window: ${window}. It must be ddd:hh24:mi-ddd:hh24:mi in UTC ` +
        'and at least 30 minutes long.',
    );
  }
}

/** Whether `now` falls inside the weekly window (which may wrap past Saturday night). */
export function windowContains(window: string, now: Date): boolean {
  const range = parse(window);
  if (!range) return false;
  const minute = now.getUTCDay() * 1440 + now.getUTCHours() * 60 + now.getUTCMinutes();
  const [start, end] = range;
  return start <= end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** A 30-minute window starting at the current minute: what a test sets to run the window now. */
export function windowAround(now: Date): string {
  const stamp = (d: Date) =>
    `${DAYS[d.getUTCDay()]}:${String(d.getUTCHours()).padStart(2, '0')}:` +
    String(d.getUTCMinutes()).padStart(2, '0');
  return `${stamp(now)}-${stamp(new Date(now.getTime() + 30 * 60_000))}`;
}
