/** What running, recovering and trashing report back: plain data for IPC, HTTP and the CLI's --json. */
import type { Domain } from '../model';
import type { Plan } from './plan';

export interface ProgressEvent {
  operationId: string;
  step: number;
  steps: number;
  sentence: string;
  /** Percent of the current step, when its tool reports it. */
  percent: number | null;
}

export type ExecuteResult =
  | { status: 'done'; operationId: string; domain: Domain | null }
  /** The world changed since the preview: here is the plan as it would be now, to confirm again. */
  | { status: 'changed'; plan: Plan };

export interface RecoveryReport {
  operationId: string;
  /** The operation's domain; empty when its journal could not be read. */
  domain: string;
  outcome: 'finished' | 'rolled-back' | 'failed';
  message: string;
  /** The journal file that could not be read and was skipped (outcome 'failed'); absent otherwise. */
  journal?: string;
}

export interface TrashEntry {
  operationId: string;
  /** The domain whose operation trashed the file, when its trash folder says. */
  domain: string | null;
  /** Where the file was, and goes back to on restore. */
  original: string;
  trashed: string;
  size: number;
  trashedAt: string;
  /** The file it was built on, for a qcow2 image: it stays where it is, the trash holds only the top. */
  backing: string | null;
}

/**
 * One operation as the log shows it, from its journal. A journal file that could not be read is a line with
 * status 'unreadable', op 'journal', no domain and no steps, and the reason as its error.
 */
export interface HistoryEntry {
  id: string;
  at: string;
  op: string;
  domain: string;
  /** The operation with what it acted on, in words ("Delete snapshot snap2 of web01", plan-summary.ts). */
  subject?: string;
  status: 'running' | 'done' | 'rolled-back' | 'finished-by-recovery' | 'failed' | 'unreadable';
  steps: Array<{ sentence: string; command: string[]; state: 'pending' | 'started' | 'done' | 'undone' }>;
  error: { code: string; message: string } | null;
}
