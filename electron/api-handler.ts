/**
 * The one registration helper for the API: resolves the method, validates the input against the contract's
 * schema, runs the engine and serialises errors. IPC and HTTP both go through it.
 */
import { z } from 'zod';
import { apiInputs, isApiMethod, type ApiMethod, type ApiResponse } from '../shared/contract';
import { AppError, toErrorData } from '../shared/errors';
import type { Engine } from './engine';

export async function handleApiCall(engine: Engine, method: string, input: unknown): Promise<ApiResponse<ApiMethod>> {
  try {
    if (!isApiMethod(method)) throw new AppError('E_NOT_FOUND', `Unknown API method "${method}".`);
    const parsed = apiInputs[method].safeParse(input ?? {});
    if (!parsed.success) {
      throw new AppError('E_BAD_INPUT', z.prettifyError(parsed.error), { issues: parsed.error.issues.map((i) => i.message) });
    }
    const value = await engine.handle(method, parsed.data as never);
    return { ok: true, value } as ApiResponse<ApiMethod>;
  } catch (error) {
    return { ok: false, error: toErrorData(error) };
  }
}
