/**
 * What a user asks for: the operations and their arguments, as one schema (docs/safety.md, rule 6). The contract
 * checks every request with it, and the planners' `Intent` type is inferred from it, so the two never differ.
 */
import { z } from 'zod';
import { absolutePathSchema, existingNameSchema, freeTextSchema, newNameSchema } from '../validate';

/**
 * Names of what exists (domain, snapshot, the branch acted on) are taken verbatim, as libvirt and the records
 * hold them (existingNameSchema); names the operation creates (a new branch, a snapshot, a rename's target, the
 * name kept for the branch left) follow the stricter newNameSchema.
 */
/**
 * How an operation that changes the disks' files treats a running or paused domain: `stop` stops it first
 * (`shutdown` asks the guest and waits up to `timeout` seconds, `force` powers it off, `save` keeps its memory
 * with the branch it leaves), `start` boots it again afterwards (`paused` leaves it paused; landing on saved
 * memory, it is resumed rather than booted). Without `stop`, such an operation is refused on a live domain.
 */
const power = {
  stop: z.enum(['shutdown', 'force', 'save']).optional(),
  timeout: z.number().int().min(1).max(3600).optional(),
  start: z.enum(['running', 'paused']).optional(),
};

/** The node a clone or an export starts from: a snapshot's saved state, or a branch's tip as it is now. */
export const nodeRefSchema = z.object({ kind: z.enum(['snapshot', 'branch']), name: existingNameSchema }).strict();

export const intentSchema = z.discriminatedUnion('op', [
  z
    .object({ op: z.literal('revert-branch'), domain: existingNameSchema, snapshot: existingNameSchema, branch: newNameSchema, keepAs: newNameSchema.optional(), ...power })
    .strict(),
  z.object({ op: z.literal('revert-discard'), domain: existingNameSchema, snapshot: existingNameSchema, ...power }).strict(),
  z.object({ op: z.literal('switch'), domain: existingNameSchema, branch: existingNameSchema, ...power }).strict(),
  z.object({ op: z.literal('rename-branch'), domain: existingNameSchema, branch: existingNameSchema, to: newNameSchema }).strict(),
  z.object({ op: z.literal('delete-snapshot'), domain: existingNameSchema, snapshot: existingNameSchema, metadataOnly: z.boolean().optional() }).strict(),
  z.object({ op: z.literal('commit'), domain: existingNameSchema, branch: existingNameSchema }).strict(),
  /** Commits the branch's tips into the saved state of `snapshot`, the one snapshot they build on, and deletes that snapshot. */
  z.object({ op: z.literal('fold-commit'), domain: existingNameSchema, branch: existingNameSchema, snapshot: existingNameSchema }).strict(),
  /** `memory`: a running or paused domain's RAM is saved too; `quiesce`: its guest agent freezes the file systems first. */
  z
    .object({
      op: z.literal('create-snapshot'),
      domain: existingNameSchema,
      name: newNameSchema,
      description: freeTextSchema.optional(),
      memory: z.boolean().optional(),
      quiesce: z.boolean().optional(),
    })
    .strict(),
  z.object({ op: z.literal('delete-branch'), domain: existingNameSchema, branch: existingNameSchema }).strict(),
  /** Sets a snapshot's description in libvirt's record (an empty text removes it); only the record changes. */
  z.object({ op: z.literal('edit-description'), domain: existingNameSchema, snapshot: existingNameSchema, description: freeTextSchema }).strict(),
  /**
   * A new domain `name` from `node`: `linked` gives each managed disk a new overlay on the node's saved state (a
   * branch's tip is frozen first, as a snapshot freezes it), `full` copies each into a standalone image. The new
   * files go beside the source's, or into `dir`; `start` boots the clone afterwards.
   */
  z
    .object({
      op: z.literal('clone'),
      domain: existingNameSchema,
      node: nodeRefSchema,
      name: newNameSchema,
      mode: z.enum(['linked', 'full']),
      dir: absolutePathSchema.optional(),
      start: z.boolean().optional(),
    })
    .strict(),
  /** Each managed disk of `node` as one standalone image of `format` in the existing folder `to` (`compress`: qcow2's compression). */
  z
    .object({ op: z.literal('export'), domain: existingNameSchema, node: nodeRefSchema, to: absolutePathSchema, format: z.enum(['qcow2', 'raw']), compress: z.boolean().optional() })
    .strict(),
  /** Repairs one image's metadata with `qemu-img check -r`: `leaks` frees leaked clusters, `all` fixes corruption too. */
  z.object({ op: z.literal('repair'), domain: existingNameSchema, path: absolutePathSchema, mode: z.enum(['leaks', 'all']) }).strict(),
]);

/** An operation and its arguments. */
export type Intent = z.infer<typeof intentSchema>;

/** The name of an operation. */
export type Op = Intent['op'];

/** A snapshot or a branch named as the start of a clone or an export. */
export type NodeRef = z.infer<typeof nodeRefSchema>;

/** The intent of one operation. */
export type IntentOf<K extends Op> = Extract<Intent, { op: K }>;
