/**
 * The closed set of errors that cross the engine's boundaries (IPC, HTTP, CLI). Each has a stable code, a
 * sentence a user understands, and optional details; it serialises to plain JSON.
 */

export const ERROR_CODES = [
  'E_BAD_INPUT',
  'E_UNAUTHORIZED',
  'E_NOT_FOUND',
  'E_CONNECT',
  'E_TOOL',
  'E_DOMAIN_RUNNING',
  'E_SHARED_BACKING',
  'E_NAME_TAKEN',
  'E_NOT_SUPPORTED',
  'E_CHANGED',
  'E_CANCELLED',
  'E_LOCKED',
  /** A file system has less free space than an operation needs. */
  'E_NO_SPACE',
  'E_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorData {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details;
  }

  toJSON(): ErrorData {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static from(data: ErrorData): AppError {
    return new AppError(data.code, data.message, data.details);
  }
}

/** Turns anything thrown into error data a client can show; unknown errors keep only their message. */
export function toErrorData(error: unknown): ErrorData {
  if (error instanceof AppError) return error.toJSON();
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'E_INTERNAL', message };
}

export function isErrorData(value: unknown): value is ErrorData {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { code?: unknown; message?: unknown };
  return typeof candidate.message === 'string' && (ERROR_CODES as readonly unknown[]).includes(candidate.code);
}
