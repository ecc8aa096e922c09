import { invalidInput } from './errors.ts';
import { type MaintenanceWindow, parseMaintenanceWindows } from './maintenance.ts';

export interface RemediationSettings {
  /** New actions wait for an admin's approval before they can run. */
  requireApproval: boolean;
  /** Approval queues execution at once. */
  autoExecute: boolean;
  /** How long after completion a rollback is allowed. */
  rollbackWindowMinutes: number;
  /**
   * Lets the person who created an action approve it too (four-eyes relaxed), for
   * installs with a single admin. Every self-approval is marked in the audit log.
   */
  allowSelfApproval: boolean;
  /** The most actions one bulk approve or reject may name: the blast radius of one click. */
  maxBulkActions: number;
  /** Weekly windows outside which approved executions wait; see maintenance.ts. */
  maintenanceWindows: MaintenanceWindow[];
}

export const DEFAULT_SETTINGS: RemediationSettings = Object.freeze({
  requireApproval: true,
  autoExecute: false,
  rollbackWindowMinutes: 30,
  allowSelfApproval: false,
  maxBulkActions: 50,
  maintenanceWindows: [],
});

export const ROLLBACK_WINDOW_MIN = 5;
export const ROLLBACK_WINDOW_MAX = 120;

const KEYS = Object.keys(DEFAULT_SETTINGS) as (keyof RemediationSettings)[];

/**
 * Validates a partial change to the settings. Unknown keys and wrong types are refused
 * whole, so a bad request changes nothing.
 */
export function parseSettingsPatch(input: unknown): Partial<RemediationSettings> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidInput('settings must be a JSON object');
  }
  const patch: Partial<RemediationSettings> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!KEYS.includes(key as keyof RemediationSettings)) {
      throw invalidInput(`unknown setting "${key}"; known settings are ${KEYS.join(', ')}`);
    }
    if (key === 'rollbackWindowMinutes') {
      patch.rollbackWindowMinutes = parseWindow(value);
    } else if (key === 'maxBulkActions') {
      patch.maxBulkActions = parseBulkLimit(value);
    } else if (key === 'maintenanceWindows') {
      patch.maintenanceWindows = parseMaintenanceWindows(value);
    } else if (typeof value !== 'boolean') {
      throw invalidInput(`setting "${key}" must be true or false, got ${JSON.stringify(value)}`);
    } else {
      patch[key as 'requireApproval' | 'autoExecute' | 'allowSelfApproval'] = value;
    }
  }
  if (Object.keys(patch).length === 0) {
    throw invalidInput('no settings given to change');
  }
  return patch;
}

function parseWindow(value: unknown): number {
  const ok =
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= ROLLBACK_WINDOW_MIN &&
    value <= ROLLBACK_WINDOW_MAX;
  if (!ok) {
    throw invalidInput(
      `rollbackWindowMinutes must be a whole number of minutes from ${ROLLBACK_WINDOW_MIN} ` +
        `to ${ROLLBACK_WINDOW_MAX}, got ${JSON.stringify(value)}`,
      { setting: 'rollbackWindowMinutes', min: ROLLBACK_WINDOW_MIN, max: ROLLBACK_WINDOW_MAX },
    );
  }
  return value;
}

export const BULK_LIMIT_MAX = 500;

function parseBulkLimit(value: unknown): number {
  if (
    typeof value === 'number' &&
    Number.isInteger(value) &&
    value >= 1 &&
    value <= BULK_LIMIT_MAX
  ) {
    return value;
  }
  throw invalidInput(
    `maxBulkActions must be a whole number from 1 to ${BULK_LIMIT_MAX}, got ${JSON.stringify(value)}`,
    { setting: 'maxBulkActions', min: 1, max: BULK_LIMIT_MAX },
  );
}

/** The instant after which a rollback is refused, fixed when the action completes. */
export function rollbackDeadline(completedAt: Date, windowMinutes: number): Date {
  return new Date(completedAt.getTime() + windowMinutes * 60_000);
}

/** The window is open strictly before its deadline, by the server's clock. */
export function windowOpen(now: Date, deadline: Date): boolean {
  return now.getTime() < deadline.getTime();
}
