/**
 * The one API contract between the renderer and the engine. The preload bridge and the HTTP client both
 * derive their types from it; the main process and `serve` validate every input against these schemas.
 */
import { z } from 'zod';
import type { ErrorData } from './errors';
import type { Domain, ScanResult, Source } from './model';
import { absolutePathSchema, nameSchema, uriSchema } from './validate';

export const sourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('libvirt'), uri: uriSchema }).strict(),
  z.object({ kind: z.literal('folder'), path: absolutePathSchema }).strict(),
]);

/** A source the app offers in its sidebar. */
export interface SourceEntry {
  id: string;
  label: string;
  source: Source;
  /** Set on the sources of the built-in demo lab. */
  demo: boolean;
  /** The domain to open first, when the source has it. */
  focus?: string;
}

export interface AppInfo {
  version: string;
  /** Where the engine runs: inside the desktop app, or behind `serve`. */
  host: 'desktop' | 'serve';
  demo: boolean;
}

export const apiInputs = {
  appInfo: z.object({}).strict(),
  listSources: z.object({}).strict(),
  scan: z.object({ source: sourceSchema }).strict(),
  scanDomain: z.object({ source: sourceSchema, domain: nameSchema }).strict(),
} as const;

export interface ApiOutputs {
  appInfo: AppInfo;
  listSources: SourceEntry[];
  scan: ScanResult;
  scanDomain: Domain;
}

export type ApiMethod = keyof typeof apiInputs;
export type ApiInput<M extends ApiMethod> = z.infer<(typeof apiInputs)[M]>;
export type ApiOutput<M extends ApiMethod> = ApiOutputs[M];

export const API_METHODS = Object.keys(apiInputs) as ApiMethod[];

export function isApiMethod(name: string): name is ApiMethod {
  return Object.prototype.hasOwnProperty.call(apiInputs, name);
}

/** What every transport returns: a result or a serialised AppError, never a thrown string. */
export type ApiResponse<M extends ApiMethod> = { ok: true; value: ApiOutput<M> } | { ok: false; error: ErrorData };

/** The engine as its clients see it. */
export interface SnaptreeApi {
  call<M extends ApiMethod>(method: M, input: ApiInput<M>): Promise<ApiOutput<M>>;
}

export { BRIDGE_KEY, type Bridge } from './bridge';
