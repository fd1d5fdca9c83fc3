/**
 * Plans are data: what an operation will do, step by step, and its impact. Planners build them from a scan and an
 * intent without side effects; the executor performs them and journals each step. A step holds its arguments
 * only: the command it runs, and the line the preview shows, are built from it by `step-command.ts`.
 */
import type { ErrorCode } from '../errors';
import type { Source } from '../model';
import type { Intent, NodeRef } from './intent';

export type { Intent, IntentOf, NodeRef, Op } from './intent';

/** A branch record as the app keeps it in the domain's `<metadata>`. */
export interface BranchRecord {
  name: string;
  tips: Array<{ target: string; file: string }>;
  /** The running VM's memory, saved when the branch was left (`virsh save`); switching to it resumes from there. */
  memory?: string;
  /** That file as it was saved (inode, size, modification time): another file at its path is not this branch's memory. */
  memoryFingerprint?: string;
}

export interface BranchRecords {
  current: string | null;
  branches: BranchRecord[];
}

interface StepBase {
  /** One sentence a user understands. */
  sentence: string;
}

export type Step = StepBase &
  (
    | { kind: 'create-overlay'; path: string; backing: string; backingFormat: string }
    /**
     * `formats`: each disk's format by target, as the scan found its file (qcow2 for an overlay the plan makes), never
     * read off the file, whose first bytes a guest writes on a raw disk (docs/safety.md, rule 9). Absent in journals
     * written before it was recorded.
     */
    | { kind: 'define-domain'; domain: string; disks: Record<string, string>; formats?: Record<string, string>; records: BranchRecords }
    /**
     * `revertDisks` (libvirt 9.9 and later): the files the domain is left on, by target, recorded as the snapshot's
     * `<revertDisks>` as libvirt records them after its own revert (null: none, those files are the snapshot's own
     * overlays). libvirt's own revert deletes the current snapshot's revert disks, or else its overlays, as the state
     * it leaves; after the app's revert or switch its overlays may be a frozen layer or another branch's tip.
     * Absent: made current as it is.
     */
    | { kind: 'set-current-snapshot'; domain: string; snapshot: string; revertDisks?: Record<string, { file: string; format: string }> | null }
    /**
     * Stops a running or paused domain: `shutdown` asks the guest and waits up to `timeoutSeconds`, `force` powers it
     * off, `save` writes its memory to `memoryFile` and stops it (`virsh save`), for a restore later.
     */
    | { kind: 'stop-domain'; domain: string; mode: 'shutdown' | 'force' | 'save'; timeoutSeconds: number; memoryFile?: string }
    /**
     * Resumes the domain from memory saved in `memoryFile`, on the disks it is defined with now (`virsh restore
     * --xml`): paused when `paused`, else running or paused as it was when the memory was saved.
     */
    | { kind: 'restore-domain'; domain: string; memoryFile: string; paused: boolean }
    /** Boots the domain, `paused` to leave it paused. */
    | { kind: 'start-domain'; domain: string; paused: boolean }
    /** `format`: the rebased image's own format. */
    | { kind: 'rebase'; path: string; format: string; backing: string; backingFormat: string; unsafe: boolean }
    /** `format`: the committed top's own format. */
    | { kind: 'commit'; top: string; format: string; base: string }
    /**
     * A block job on a running (or paused) domain's disk `target`, done by QEMU while the VM runs: `top` and the
     * layers between it and `base` are folded into `base`. With `active`, `top` is the disk's active layer and the
     * disk then pivots onto `base`; otherwise the layer above `top` reads from `base` once the job ends.
     */
    | { kind: 'block-commit'; domain: string; target: string; top: string; base: string; active: boolean }
    /** A block job on a running domain's disk `target`: its active layer `top` copies in what the layers between it and `base` hold, then builds on `base`. */
    | { kind: 'block-pull'; domain: string; target: string; top: string; base: string }
    /**
     * Copies the image `source` (read through its backing chain; `sourceFormat` its own format) into the new
     * standalone image `target` of `format` (`qemu-img convert -p`, `compress` with qcow2's compression), where
     * nothing stands; the new file is 0600 and owned like `source`. Undone by removing `target`.
     */
    | { kind: 'convert'; source: string; sourceFormat: string; target: string; format: 'qcow2' | 'raw'; compress: boolean }
    /** A copy of the UEFI variable store `path` at `copy`, where nothing stands, owned and moded like `path`: a clone's own. */
    | { kind: 'copy-nvram'; path: string; copy: string }
    /**
     * Defines the new domain `name` from the persistent definition of `source`: a new UUID and new MAC addresses,
     * its managed disks (by target) on `disks` with `formats`, its own variable store `nvram` when the source has
     * one, no branch records, and a record that it was cloned from `source`'s `node` by this operation. Undone by
     * undefining that domain, only while its record names this operation.
     */
    | {
        kind: 'define-clone';
        source: string;
        name: string;
        node: NodeRef;
        disks: Record<string, string>;
        formats: Record<string, string>;
        nvram: string | null;
      }
    | { kind: 'trash'; path: string }
    /** A copy kept in the operation's trash folder: the way back from a repair. */
    | { kind: 'keep-copy'; path: string; copy: string }
    | { kind: 'repair'; path: string; mode: 'leaks' | 'all' }
    | {
        kind: 'create-snapshot';
        domain: string;
        name: string;
        description: string | null;
        /** The new overlay per managed disk; unmanaged disks are left out of the snapshot. */
        overlays: Record<string, string>;
        excluded: string[];
        /** Where a running domain's RAM is saved; absent or null for a disk-only snapshot. */
        memoryFile?: string | null;
        /** The guest agent freezes the guest's file systems while the snapshot is taken. */
        quiesce?: boolean;
      }
    | { kind: 'delete-snapshot-metadata'; domain: string; snapshot: string }
    | {
        kind: 'redefine-snapshot';
        domain: string;
        snapshot: string;
        /** Paths to rename in the snapshot's record, in its disks and in its saved definition. */
        replace: Record<string, string>;
        /** The new parent; absent when the parent stays. */
        parent?: string | null;
        /**
         * The new description, written as a text node of the record (never on a command line); null removes it;
         * absent when it stays.
         */
        description?: string | null;
      }
  );

export type StepKind = Step['kind'];

/** A graph node a plan adds: its id, name and kind as the graph will show it, and the node it hangs from. */
export interface CreatedNode {
  id: string;
  name: string;
  kind: 'snapshot' | 'branch';
  parentId: string | null;
}

/** What a plan changes: files and records for people, graph nodes for the picture (read, never parsed from text). */
export interface Impact {
  created: string[];
  written: string[];
  trashed: string[];
  /** Metadata that changes: the domain definition, branch records, snapshot records. */
  metadata: string[];
  /** Graph node ids whose content or place changes, or that appear or go. */
  changedNodes: string[];
  /** Graph node ids whose content stays byte-identical. */
  unchangedNodes: string[];
  /** Extra disk space the operation needs, in bytes (an estimate). */
  spaceBytes: number;
  /** The domain must be shut off for this to run. */
  mustStop: boolean;
  /** Graph nodes the plan adds (a new branch, a new snapshot), where they attach; a rename's new name is in `renamed`. */
  createdNodes: CreatedNode[];
  /** Snapshots whose record the plan deletes. */
  removedSnapshots: string[];
  /** Branches whose node goes: deleted, or the state a discarding revert leaves (its name then reappears in `createdNodes`). */
  removedBranches: string[];
  /** A branch that takes a new name. */
  renamed: { from: string; to: string } | null;
  /** The graph node id of the branch that is "You are here" after the plan. */
  currentAfter: string | null;
}

export interface Plan {
  /** Names the operation: its journal and its trash folder. */
  id: string;
  intent: Intent;
  source: Source;
  steps: Step[];
  /**
   * Index of the first step that cannot be undone (a commit writes into its base, a repair rewrites metadata). A failure or crash before
   * it rolls back what ran; from it on, recovery finishes the remaining steps instead. Null: all undoable.
   */
  pointOfNoReturn: number | null;
  impact: Impact;
  warnings: string[];
}

export interface Refusal {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; refusal: Refusal };
