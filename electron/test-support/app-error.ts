/** The AppError a promise rejects with; throws when it resolves or rejects with anything else. */
import { AppError } from '../../shared/errors';

export async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}
