/**
 * Plans are data: what an operation will do, step by step, with the exact commands and its impact. Planners
 * build them from a scan and an intent without side effects; the executor performs them and journals each step.
 */
import type { ErrorCode } from '../errors';
import type { Source } from '../model';

/** What the user asked for. Names are validated by the contract's schemas before a planner sees them. */
export type Intent =
  | { op: 'revert-branch'; domain: string; snapshot: string; branch: string; keepAs?: string }
  | { op: 'switch'; domain: string; branch: string }
  | { op: 'rename-branch'; domain: string; branch: string; to: string }
  | { op: 'delete-snapshot'; domain: string; snapshot: string; metadataOnly?: boolean }
  | { op: 'commit'; domain: string; branch: string }
  | { op: 'create-snapshot'; domain: string; name: string; description?: string }
  | { op: 'revert-discard'; domain: string; snapshot: string }
  | { op: 'delete-branch'; domain: string; branch: string }
  /** Repairs one image's metadata with `qemu-img check -r`: `leaks` frees leaked clusters, `all` fixes corruption too. */
  | { op: 'repair'; domain: string; path: string; mode: 'leaks' | 'all' };

/** A branch record as the app keeps it in the domain's `<metadata>`. */
export interface BranchRecord {
  name: string;
  tips: Array<{ target: string; file: string }>;
}

export interface BranchRecords {
  current: string | null;
  branches: BranchRecord[];
}

interface StepBase {
  /** One sentence a user understands. */
  sentence: string;
  /** The command as it will run (argument array), for the preview; empty for steps done in process. */
  command: string[];
}

export type Step = StepBase &
  (
    | { kind: 'create-overlay'; path: string; backing: string; backingFormat: string }
    | { kind: 'define-domain'; domain: string; disks: Record<string, string>; records: BranchRecords }
    | { kind: 'set-current-snapshot'; domain: string; snapshot: string }
    | { kind: 'rebase'; path: string; backing: string; backingFormat: string; unsafe: boolean }
    | { kind: 'commit'; top: string; base: string }
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
      }
  );

export type StepKind = Step['kind'];

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
