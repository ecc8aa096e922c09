import { expect } from 'vitest';
import { AppError } from '../../src/domain/errors.ts';

/** The AppError `run` throws; fails the test when it throws something else or nothing. */
export function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a refusal');
}
