/**
 * The journal file's format and its check on reading. Recovery acts as root on what a journal says, so a file
 * is used only when its envelope (status, step records, undo data: what the executor itself reads) has exactly
 * the shape this build writes. The plan inside is checked more loosely: its envelope, and that every step and
 * intent is of a kind this build knows, but not each step's arguments. Those come from the planner, were
 * checked before the operation ran, and are typed in shared/ops/plan.ts; a second copy of every step type here
 * would drift from it. A step whose arguments are damaged fails when recovery runs it, and is reported there.
 * The intent is not checked with the contract's input schemas either: those rules may tighten between
 * releases, and a journal written under the old rules must still be recoverable.
 *
 * Version 1 (and files from before versions) stored each step's command line beside its arguments; version 2
 * stores arguments only (the command is built from them by shared/ops/step-command.ts) and the plan's impact
 * with its graph fields. A version 1 file is read into today's shape: the command is dropped, a rebase or commit
 * takes its image's format from the `-f` the command gave, the impact gets empty graph fields.
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorData } from '../../shared/errors';
import type { Intent, Plan, StepKind } from '../../shared/ops/plan';

/** The journal format this build writes; it reads this and version 1 (a file without `version` is from before it had one: 1). */
export const JOURNAL_VERSION = 2;

/** Every step kind, checked complete and exact against the Step type by `satisfies`. */
const STEP_KINDS = {
  'create-overlay': true,
  'define-domain': true,
  'set-current-snapshot': true,
  'stop-domain': true,
  'start-domain': true,
  'restore-domain': true,
  rebase: true,
  commit: true,
  'block-commit': true,
  'block-pull': true,
  trash: true,
  'keep-copy': true,
  repair: true,
  'create-snapshot': true,
  'delete-snapshot-metadata': true,
  'redefine-snapshot': true,
  convert: true,
  'copy-nvram': true,
  'define-clone': true,
} as const satisfies Record<StepKind, true>;

/** Every operation, checked complete and exact against the Intent type by `satisfies`. */
const OPS = {
  'revert-branch': true,
  switch: true,
  'rename-branch': true,
  'delete-snapshot': true,
  commit: true,
  'fold-commit': true,
  'create-snapshot': true,
  'revert-discard': true,
  'delete-branch': true,
  repair: true,
  'edit-description': true,
  clone: true,
  export: true,
} as const satisfies Record<Intent['op'], true>;

const keysOf = <K extends string>(record: Record<K, true>) => Object.keys(record) as [K, ...K[]];

const undoSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('none') }),
  z.strictObject({ kind: z.literal('previous-xml'), xml: z.string(), current: z.boolean() }),
  z.strictObject({ kind: z.literal('previous-current'), snapshot: z.string().nullable() }),
  /** Before a step set the current snapshot and its revert disks: which snapshot was current, and the record as it was. */
  z.strictObject({ kind: z.literal('previous-current-xml'), snapshot: z.string().nullable(), xml: z.string(), currentXml: z.string().nullable() }),
  z.strictObject({ kind: z.literal('previous-backing'), backing: z.string().nullable(), format: z.string().nullable() }),
]);

const journalStepSchema = z.strictObject({
  state: z.enum(['pending', 'started', 'done', 'undone']),
  undo: undoSchema.optional(),
});

/** A version 1 step: its command line is dropped; a rebase's or commit's own format is the `-f` it gave. */
const stepV1Schema = z
  .looseObject({ kind: z.enum(keysOf(STEP_KINDS)), sentence: z.string(), command: z.array(z.string()) })
  .transform(({ command, ...step }) => {
    if ((step.kind !== 'rebase' && step.kind !== 'commit') || 'format' in step) return step;
    const at = command.indexOf('-f');
    return { ...step, format: (at === -1 ? undefined : command[at + 1]) ?? 'qcow2' };
  });

/** The graph fields version 2 added to the impact, empty in a version 1 plan. */
const impactV1Schema = z.looseObject({}).transform((impact) => ({ createdNodes: [], removedSnapshots: [], removedBranches: [], renamed: null, currentAfter: null, ...impact }));

/** The plan's envelope, with steps and intent by kind only (see the module comment). */
const envelopeOf = (step: z.ZodType<{ kind: StepKind }>, impact: z.ZodType<object>) =>
  z.looseObject({
    id: z.string(),
    intent: z.looseObject({ op: z.enum(keysOf(OPS)), domain: z.string() }),
    source: z.discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('libvirt'), uri: z.string() }),
      z.strictObject({ kind: z.literal('folder'), path: z.string() }),
    ]),
    steps: z.array(step),
    pointOfNoReturn: z.int().nonnegative().nullable(),
    impact,
    warnings: z.array(z.string()),
  });

const planEnvelope = envelopeOf(z.looseObject({ kind: z.enum(keysOf(STEP_KINDS)), sentence: z.string() }), z.looseObject({}));
const planV1Envelope = envelopeOf(stepV1Schema, impactV1Schema);

/** A plan whose envelope passes is the plan the planner made: its steps' arguments are the planner's, typed in shared/ops/plan.ts. */
const planSchema = z.custom<Plan>((value) => planEnvelope.safeParse(value).success, "its plan does not have a plan's shape");

/** A version 1 plan, read into today's shape (see the module comment) before the same check. */
const planV1Schema = z.preprocess((value) => {
  const v1 = planV1Envelope.safeParse(value);
  return v1.success ? v1.data : value;
}, planSchema);

/** A journal file of one version, its plan read by `plan`. */
const entrySchemaOf = (version: z.ZodType<number | undefined>, plan: z.ZodType<Plan, unknown>) =>
  z
    .strictObject({
      version,
      id: z.string(),
      createdAt: z.iso.datetime({ offset: true }),
      uri: z.string().nullable(),
      plan,
      status: z.enum(['running', 'done', 'rolled-back', 'finished-by-recovery', 'failed']),
      steps: z.array(journalStepSchema),
      error: z.strictObject({ code: z.enum(ERROR_CODES), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }).optional(),
    })
    // The executor pairs each step record with its plan step by index, and writes the journal back under its id.
    .refine((e) => e.steps.length === e.plan.steps.length, 'it has not one step record per step of its plan')
    .refine((e) => e.plan.id === e.id, 'its plan has another id than the journal')
    .refine((e) => e.plan.pointOfNoReturn === null || e.plan.pointOfNoReturn < e.plan.steps.length, 'its point of no return is past its last step');

const entrySchema = entrySchemaOf(z.literal(JOURNAL_VERSION), planSchema);
const entryV1Schema = entrySchemaOf(z.literal(1).optional(), planV1Schema);

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
  const parsed = (version === JOURNAL_VERSION ? entrySchema : entryV1Schema).safeParse(json);
  if (!parsed.success) return { ok: false, why: `it does not have a journal's shape (${z.prettifyError(parsed.error).replaceAll('\n', ' ')})` };
  const { version: _version, ...entry } = parsed.data;
  if (entry.id !== id) return { ok: false, why: `it names operation ${entry.id}, not ${id} as its file name does` };
  // The plan was checked by kind only (see the module comment); its steps' arguments are the planner's.
  return { ok: true, entry };
}
