/**
 * The journal file's format and its check on reading. Recovery acts as root on what a journal says, so a file
 * is used only when its envelope (status, step records, undo data: what the executor itself reads) has exactly
 * the shape this build writes. The plan inside is checked more loosely: its envelope, and that every step and
 * intent is of a kind this build knows, but not each step's arguments. Those come from the planner, were
 * checked before the operation ran, and are typed in shared/ops/plan.ts; a second copy of every step type here
 * would drift from it. A step whose arguments are damaged fails when recovery runs it, and is reported there.
 * The intent is not checked with the contract's input schemas either: those rules may tighten between
 * releases, and a journal written under the old rules must still be recoverable.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorData } from '../../shared/errors';
import type { Intent, Plan, StepKind } from '../../shared/ops/plan';

/** The journal format this build writes and reads; a file without `version` is from before it had one: 1. */
export const JOURNAL_VERSION = 1;

/** Every step kind, checked complete and exact against the Step type by `satisfies`. */
const STEP_KINDS = {
  'create-overlay': true,
  'define-domain': true,
  'set-current-snapshot': true,
  rebase: true,
  commit: true,
  trash: true,
  'keep-copy': true,
  repair: true,
  'create-snapshot': true,
  'delete-snapshot-metadata': true,
  'redefine-snapshot': true,
} as const satisfies Record<StepKind, true>;

/** Every operation, checked complete and exact against the Intent type by `satisfies`. */
const OPS = {
  'revert-branch': true,
  switch: true,
  'rename-branch': true,
  'delete-snapshot': true,
  commit: true,
  'create-snapshot': true,
  'revert-discard': true,
  'delete-branch': true,
  repair: true,
} as const satisfies Record<Intent['op'], true>;

const keysOf = <K extends string>(record: Record<K, true>) => Object.keys(record) as [K, ...K[]];

const undoSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({ kind: z.literal('previous-xml'), xml: z.string(), current: z.boolean() }),
  z.strictObject({ kind: z.literal('previous-current'), snapshot: z.string().nullable() }),
  z.strictObject({ kind: z.literal('previous-backing'), backing: z.string().nullable(), format: z.string().nullable() }),
]);

const journalStepSchema = z.strictObject({
  state: z.enum(['pending', 'started', 'done', 'undone']),
  undo: undoSchema.optional(),
});

/** The plan's envelope; steps and intent by kind only (see the module comment). */
const planSchema = z.looseObject({
  id: z.string(),
  intent: z.looseObject({ op: z.enum(keysOf(OPS)), domain: z.string() }),
  source: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('libvirt'), uri: z.string() }),
    z.strictObject({ kind: z.literal('folder'), path: z.string() }),
  ]),
  steps: z.array(z.looseObject({ kind: z.enum(keysOf(STEP_KINDS)), sentence: z.string(), command: z.array(z.string()) })),
  pointOfNoReturn: z.int().nonnegative().nullable(),
  impact: z.looseObject({}),
  warnings: z.array(z.string()),
});

const entrySchema = z
  .strictObject({
    version: z.literal(JOURNAL_VERSION).optional(),
    id: z.string(),
    createdAt: z.iso.datetime({ offset: true }),
    uri: z.string().nullable(),
    plan: planSchema,
    status: z.enum(['running', 'done', 'rolled-back', 'finished-by-recovery', 'failed']),
    steps: z.array(journalStepSchema),
    error: z.strictObject({ code: z.enum(ERROR_CODES), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).optional(),
  })
  // The executor pairs each step record with its plan step by index, and writes the journal back under its id.
  .refine((e) => e.steps.length === e.plan.steps.length, 'it has not one step record per step of its plan')
  .refine((e) => e.plan.id === e.id, 'its plan has another id than the journal')
  .refine((e) => e.plan.pointOfNoReturn === null || e.plan.pointOfNoReturn < e.plan.steps.length, 'its point of no return is past its last step');

/** What undoing a step needs, captured before it runs. */
export type UndoData = z.infer<typeof undoSchema>;

/** One step's place in its operation, as journaled. */
export type JournalStep = z.infer<typeof journalStepSchema>;

/** One operation's journal: its confirmed plan, how far it got, and how it ended. */
export interface JournalEntry {
  id: string;
  createdAt: string;
  /** The connection the plan runs on, for recovery. */
  uri: string | null;
  plan: Plan;
  status: 'running' | 'done' | 'rolled-back' | 'finished-by-recovery' | 'failed';
  steps: JournalStep[];
  error?: ErrorData;
}

/** A journal file as written: the entry, stamped with the format's version. */
export function journalText(entry: JournalEntry): string {
  return `${JSON.stringify({ version: JOURNAL_VERSION, ...entry }, null, 1)}\n`;
}

/** A journal file's entry, or why it cannot be used. `id` is the one its file name gives. */
export function parseJournal(text: string, id: string): { ok: true; entry: JournalEntry } | { ok: false; why: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, why: `it is not valid JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  const version = typeof json === 'object' && json !== null && 'version' in json ? json.version : undefined;
  if (typeof version === 'number' && Number.isInteger(version) && version > JOURNAL_VERSION) {
    // Never act on a format this build does not know: an older build must not roll back a newer one's operation.
    return { ok: false, why: `it was written by a newer virt-snaptree (journal version ${version}; this one reads version ${JOURNAL_VERSION}): use that version to recover or view it` };
  }
  const parsed = entrySchema.safeParse(json);
  if (!parsed.success) return { ok: false, why: `it does not have a journal's shape (${z.prettifyError(parsed.error).replaceAll('\n', ' ')})` };
  const { version: _version, ...entry } = parsed.data;
  if (entry.id !== id) return { ok: false, why: `it names operation ${entry.id}, not ${id} as its file name does` };
  // The plan was checked by kind only (see the module comment); its steps' arguments are the planner's.
  return { ok: true, entry: { ...entry, plan: entry.plan as unknown as Plan } };
}
