import { AppError } from '../../shared/errors';

/** The typed failure of an external tool: which tool, with which arguments, how it ended, what it said. */
export function toolError(tool: string, args: readonly string[], exitCode: number | null, stderr: string): AppError {
  const said = stderr.trim().split('\n').filter(Boolean).pop() ?? `exit code ${exitCode ?? 'none'}`;
  return new AppError('E_TOOL', `${tool} failed: ${said}`, { tool, args: [...args], exitCode, stderr: stderr.trim() });
}

/** Environment for tools whose messages are parsed: untranslated, unpaged. */
export const TOOL_ENV = { LC_ALL: 'C', LANG: 'C', PAGER: 'cat' } as const;
