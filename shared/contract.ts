/**
 * The one API contract between the renderer and the engine. The preload bridge and the HTTP client both
 * derive their types from it; the main process and `serve` validate every input against these schemas.
 */
import { z } from 'zod';
import type { ErrorData } from './errors';
import type { Comparison, HealthReport } from './inspect';
import type { Domain, ScanResult, Source } from './model';
import type { PlanResult } from './ops/plan';
import type { ExecuteResult, HistoryEntry, ProgressEvent, RecoveryReport, TrashEntry } from './ops/results';
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
  /** Added by the user in the app (kept in settings), so the user may remove it. */
  removable?: boolean;
}

export interface AppInfo {
  version: string;
  /** Where the engine runs: inside the desktop app, or behind `serve`. */
  host: 'desktop' | 'serve';
  demo: boolean;
}

/** An operation a user asks for; every name follows the engine's rules (SPEC 5.6). */
export const intentSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('revert-branch'), domain: nameSchema, snapshot: nameSchema, branch: nameSchema, keepAs: nameSchema.optional() }).strict(),
  z.object({ op: z.literal('revert-discard'), domain: nameSchema, snapshot: nameSchema }).strict(),
  z.object({ op: z.literal('switch'), domain: nameSchema, branch: nameSchema }).strict(),
  z.object({ op: z.literal('rename-branch'), domain: nameSchema, branch: nameSchema, to: nameSchema }).strict(),
  z.object({ op: z.literal('delete-snapshot'), domain: nameSchema, snapshot: nameSchema, metadataOnly: z.boolean().optional() }).strict(),
  z.object({ op: z.literal('commit'), domain: nameSchema, branch: nameSchema }).strict(),
  z.object({ op: z.literal('create-snapshot'), domain: nameSchema, name: nameSchema, description: z.string().max(4000).optional() }).strict(),
  z.object({ op: z.literal('delete-branch'), domain: nameSchema, branch: nameSchema }).strict(),
  z.object({ op: z.literal('repair'), domain: nameSchema, path: absolutePathSchema, mode: z.enum(['leaks', 'all']) }).strict(),
]);

/** A graph node: `s:NAME` for a snapshot, `b:NAME` for a branch. */
/** A graph node: `s:SNAPSHOT`, `b:BRANCH`, or `f:/path` for one image file of the domain. */
const nodeIdSchema = z
  .string()
  .regex(/^[sbf]:/, 'A node is s:SNAPSHOT, b:BRANCH or f:/FILE.')
  .refine((s) => (s.startsWith('f:') ? absolutePathSchema : nameSchema).safeParse(s.slice(2)).success, 'Bad node name or file path.');

const operationIdSchema = z.string().regex(/^[0-9a-f-]{36}$/, 'An operation id is a UUID.');

/**
 * A plan handed back for execution. Only its id, intent and source are trusted after validation: the engine
 * plans again from the intent and runs its own steps; the client's steps only serve to detect a changed world.
 */
const planSchema = z
  .object({ id: operationIdSchema, intent: intentSchema, source: sourceSchema, steps: z.array(z.unknown()).max(10_000) })
  .passthrough();

const trashSelection = {
  source: sourceSchema,
  domain: nameSchema.optional(),
  operationId: operationIdSchema.optional(),
  paths: z.array(absolutePathSchema).max(1000).optional(),
};

export const apiInputs = {
  appInfo: z.object({}).strict(),
  listSources: z.object({}).strict(),
  scan: z.object({ source: sourceSchema }).strict(),
  scanDomain: z.object({ source: sourceSchema, domain: nameSchema }).strict(),
  plan: z.object({ source: sourceSchema, intent: intentSchema }).strict(),
  apply: z.object({ plan: planSchema }).strict(),
  operations: z.object({}).strict(),
  cancel: z.object({ operationId: operationIdSchema }).strict(),
  recover: z.object({}).strict(),
  history: z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict(),
  addSource: z.object({ source: sourceSchema }).strict(),
  removeSource: z.object({ id: z.string().min(1).max(5000) }).strict(),
  startDemo: z.object({}).strict(),
  compare: z.object({ source: sourceSchema, domain: nameSchema, a: nodeIdSchema, b: nodeIdSchema }).strict(),
  check: z.object({ source: sourceSchema, domain: nameSchema.optional(), path: absolutePathSchema.optional() }).strict().refine((v) => v.path === undefined || v.domain !== undefined, 'A file is checked within its domain.'),
  trashList: z.object({ source: sourceSchema, domain: nameSchema.optional() }).strict(),
  trashRestore: z.object(trashSelection).strict(),
  trashEmpty: z.object(trashSelection).strict(),
} as const;

export interface ApiOutputs {
  appInfo: AppInfo;
  listSources: SourceEntry[];
  scan: ScanResult;
  scanDomain: Domain;
  plan: PlanResult;
  apply: ExecuteResult;
  /** The operations running now, each with its latest progress. */
  operations: ProgressEvent[];
  cancel: { cancelled: boolean };
  recover: RecoveryReport[];
  /** The operations log, newest first; it lives in the journals, so it survives restarts. */
  history: HistoryEntry[];
  /** The sources after the change. */
  addSource: SourceEntry[];
  removeSource: SourceEntry[];
  startDemo: SourceEntry[];
  compare: Comparison;
  check: HealthReport[];
  trashList: TrashEntry[];
  trashRestore: string[];
  trashEmpty: number;
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
