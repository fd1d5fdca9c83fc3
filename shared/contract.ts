/**
 * The one API contract between the renderer and the engine. The preload bridge and the HTTP client both
 * derive their types from it; the main process and `serve` validate every input against these schemas.
 */
import { z } from 'zod';
import type { ErrorData } from './errors';
import type { Comparison, HealthReport } from './inspect';
import type { Domain, ScanResult, Source } from './model';
import { intentSchema } from './ops/intent';
import type { PlanResult } from './ops/plan';
import type { ExecuteResult, HistoryEntry, ProgressEvent, RecoveryReport, TrashEntry } from './ops/results';
import { connectionUriProblem } from './source-rules';
import { absolutePathSchema, existingNameSchema, freeTextSchema, hasControlCharacter, operationIdSchema, uriSchema } from './validate';

/** A connection or folder as a user may add it: only the connections the engine may open (see source-rules). */
export const sourceSchema = z.discriminatedUnion('kind', [
  z
    .object({ kind: z.literal('libvirt'), uri: uriSchema })
    .strict()
    .superRefine((value, ctx) => {
      const problem = connectionUriProblem(value.uri);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem, path: ['uri'] });
    }),
  z.object({ kind: z.literal('folder'), path: absolutePathSchema }).strict(),
]);

/**
 * Names one of the sources the user configured (`listSources`): calls that read or act never take a source
 * from the client, so a client can reach only what the user pointed the engine at.
 */
const sourceIdSchema = z
  .string()
  .min(1)
  .max(5000)
  .refine((s) => !hasControlCharacter(s), 'A source id cannot contain control characters.');

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

/** The id a configured connection or folder goes by in the API: `libvirt:URI` or `folder:PATH`. */
export function sourceIdOf(source: Source): string {
  return source.kind === 'libvirt' ? `libvirt:${source.uri}` : `folder:${source.path}`;
}

/** The sidebar entry of a connection or folder given at start (`removable` for one the user added in the app). */
export function sourceEntry(source: Source, removable = false): SourceEntry {
  const label = source.kind === 'libvirt' ? source.uri : source.path;
  return { id: sourceIdOf(source), label, source, demo: false, ...(removable ? { removable } : {}) };
}

export interface AppInfo {
  version: string;
  /** Where the engine runs: inside the desktop app, or behind `serve`. */
  host: 'desktop' | 'serve';
  demo: boolean;
}

/** An operation a user asks for: the schema lives beside the planners, whose `Intent` type is inferred from it. */
export { intentSchema };

/** A graph node: `s:SNAPSHOT`, `b:BRANCH`, or `f:/path` for one image file of the domain; names verbatim. */
const nodeIdSchema = z
  .string()
  .regex(/^[sbf]:/, 'A node is s:SNAPSHOT, b:BRANCH or f:/FILE.')
  .refine((s) => (s.startsWith('f:') ? absolutePathSchema : existingNameSchema).safeParse(s.slice(2)).success, 'Bad node name or file path.');


const trashSelection = {
  sourceId: sourceIdSchema,
  domain: existingNameSchema.optional(),
  operationId: operationIdSchema.optional(),
  paths: z.array(absolutePathSchema).max(1000).optional(),
};

export const apiInputs = {
  appInfo: z.object({}).strict(),
  listSources: z.object({}).strict(),
  scan: z.object({ sourceId: sourceIdSchema }).strict(),
  scanDomain: z.object({ sourceId: sourceIdSchema, domain: existingNameSchema }).strict(),
  plan: z.object({ sourceId: sourceIdSchema, intent: intentSchema }).strict(),
  /** Runs a plan the engine issued to this engine's `plan`, by its id: the engine runs its own copy, never a client's. */
  apply: z.object({ planId: operationIdSchema }).strict(),
  operations: z.object({}).strict(),
  cancel: z.object({ operationId: operationIdSchema }).strict(),
  recover: z.object({}).strict(),
  history: z.object({ limit: z.number().int().min(1).max(1000).optional() }).strict(),
  addSource: z.object({ source: sourceSchema }).strict(),
  removeSource: z.object({ id: sourceIdSchema }).strict(),
  startDemo: z.object({}).strict(),
  compare: z.object({ sourceId: sourceIdSchema, domain: existingNameSchema, a: nodeIdSchema, b: nodeIdSchema }).strict(),
  check: z.object({ sourceId: sourceIdSchema, domain: existingNameSchema.optional(), path: absolutePathSchema.optional() }).strict().refine((v) => v.path === undefined || v.domain !== undefined, 'A file is checked within its domain.'),
  /** Keeps the user's acknowledgement of a file's health warnings, with why, for the file as it is now (a new write raises them again). */
  acknowledge: z
    .object({ sourceId: sourceIdSchema, domain: existingNameSchema, path: absolutePathSchema, reason: freeTextSchema.refine((s) => s.trim() !== '', 'Say why the warning can be set aside.') })
    .strict(),
  /** The screenshot kept when the snapshot was taken of a running domain with a display (electron/ops/thumbnails.ts). */
  thumbnail: z.object({ sourceId: sourceIdSchema, domain: existingNameSchema, snapshot: existingNameSchema }).strict(),
  /** The thumbnails of those of `snapshots` that have one (a domain's graph asks once for all its snapshots). */
  thumbnails: z.object({ sourceId: sourceIdSchema, domain: existingNameSchema, snapshots: z.array(existingNameSchema).max(10000) }).strict(),
  trashList: z.object({ sourceId: sourceIdSchema, domain: existingNameSchema.optional() }).strict(),
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
  acknowledge: { path: string; reason: string; at: string };
  /** A `data:image/png` URL, or null when the snapshot has no thumbnail. */
  thumbnail: { dataUrl: string | null };
  /** By snapshot name, only those that have one: `data:image/png` URLs. */
  thumbnails: Record<string, string>;
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

/**
 * What the engine pushes to a listening client (docs/architecture.md, "Events and the live picture"): progress of
 * a running operation, its end, and that a source changed outside the app. Events only say what changed; the
 * client reads it again through the API (`scanDomain`, `scan`), so they carry nothing the API would not give.
 */
export type EngineEvent =
  | { type: 'progress'; event: ProgressEvent }
  | { type: 'finished'; operationId: string }
  /** A domain (by name) or an image folder source (by its path) changed; `at` is the ISO time it was seen. */
  | { type: 'source-changed'; sourceId: string; domain?: string; folder?: string; at: string };

export { BRIDGE_KEY, type Bridge } from './bridge';
export { isEngineEvent } from './bridge';
