import { useEffect, useRef, type ReactElement } from 'react';
import type { Plan } from '../../shared/ops/plan';
import type { ProgressEvent } from '../../shared/ops/results';
import { useAppActions, useAppStore } from '../store/context';
import type { Outcome } from '../store/ops-slice';
import { selectOpsActions, selectOutcome, selectPanelActions, selectPreview, selectRunning, selectSelectionActions, selectSourceId } from '../store/selectors';
import { ErrorWords } from './ErrorWords';
import './OpsStatus.css';

/**
 * When an operation ends, the keyboard goes to the canvas, whose selection the store has put on the node the
 * operation landed on (ops-slice.ts), unless the user put it somewhere else meanwhile: never left on <body> when
 * the progress bar and its Cancel go.
 */
function useFocusAfterRun(runningId: string | null): void {
  const before = useRef(runningId);
  useEffect(() => {
    const ended = before.current !== null && runningId === null;
    before.current = runningId;
    if (!ended) return;
    const now = document.activeElement;
    if (now === null || now === document.body || !now.isConnected) document.querySelector<HTMLElement>('.graph-canvas, .file-canvas')?.focus();
  }, [runningId]);
}

/**
 * Whether the outcome is a cancel the user asked for that changed nothing: the engine says "nothing was changed"
 * only where it checked it (electron/ops/executor.ts, stopAfterFailure), so anything else stays an alert.
 */
export function calmCancel(outcome: Outcome): boolean {
  return outcome.error?.code === 'E_CANCELLED' && /\bnothing was changed\b/i.test(outcome.error.message);
}

/** The engine's words about a calm cancel without the "Nothing was changed:" the title says already. */
export function cancelDetail(message: string): string {
  return message.replace(/(^|\. )Nothing was changed: (\w)/, (_m, before: string, first: string) => `${before}${first.toUpperCase()}`);
}

/** "disk 2 of 3" while the plan's step `step` copies one of several disks (a full clone's, an export's), else null. */
export function diskOfStep(plan: Pick<Plan, 'steps'> | null, step: number): string | null {
  if (plan === null) return null;
  const converts = plan.steps.flatMap((s, i) => (s.kind === 'convert' ? [i] : []));
  const at = converts.indexOf(step);
  return converts.length > 1 && at >= 0 ? `disk ${at + 1} of ${converts.length}` : null;
}

/** The running step's sentence, its number, and its tool's percent beside the bar (with which disk, when several are copied). */
function Running({ sentence, progress, plan, onCancel }: { sentence: string; progress: ProgressEvent | null; plan: Plan | null; onCancel: () => void }): ReactElement {
  const percent = progress?.percent ?? null;
  const disk = progress === null ? null : diskOfStep(plan, progress.step);
  const overall = progress === null ? 0 : ((progress.step + (percent ?? 0) / 100) / Math.max(1, progress.steps)) * 100;
  return (
    <div className="ops-status is-running" role="status" data-testid="ops-running">
      <div className="ops-status-text" title={sentence}>
        {progress ? <span className="ops-step">Step {progress.step + 1} of {progress.steps}: </span> : null}
        {sentence}
      </div>
      <div className="ops-meter">
        {disk !== null ? <span className="muted" data-testid="ops-disk">{disk}</span> : null}
        <progress max={100} value={overall} aria-label="Progress" />
        <span className="ops-percent" data-testid="ops-percent">
          {percent !== null ? `${Math.floor(percent)}%` : ''}
        </span>
      </div>
      <button type="button" className="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

/** The running operation with its progress and a cancel button, and the outcome of the last one. */
export function OpsStatus(): ReactElement | null {
  const running = useAppStore(selectRunning);
  useFocusAfterRun(running?.operationId ?? null);
  // The confirmed plan stays in the store while it runs (ops-slice.ts, confirm): it says which steps copy disks.
  const preview = useAppStore(selectPreview);
  const plan = preview?.result?.ok === true && preview.result.plan.id === running?.operationId ? preview.result.plan : null;
  const outcome = useAppStore(selectOutcome);
  const { cancelRunning: cancel, dismissOutcome: dismiss } = useAppActions(selectOpsActions);
  const { recover } = useAppActions(selectPanelActions);
  const { selectDomain } = useAppActions(selectSelectionActions);
  const sourceId = useAppStore(selectSourceId);
  if (running !== null) return <Running sentence={running.sentence} progress={running.progress} plan={plan} onCancel={() => void cancel()} />;
  if (outcome === null) return null;
  if (calmCancel(outcome)) {
    return (
      <div className="ops-status is-neutral" role="status" data-testid="ops-outcome">
        <div className="ops-status-text">
          <strong>Cancelled: nothing was changed.</strong> <span className="muted">{cancelDetail(outcome.error?.message ?? '')}</span>
        </div>
        <button type="button" className="icon-button" aria-label="Dismiss" onClick={dismiss}>
          ×
        </button>
      </div>
    );
  }
  return (
    <div className={`ops-status ${outcome.ok ? 'is-ok' : 'is-error'}`} role={outcome.ok ? 'status' : 'alert'} data-testid="ops-outcome">
      <div className="ops-status-text">
        <strong>{outcome.title}</strong>
        {outcome.error ? (
          <>
            {' '}
            <ErrorWords error={outcome.error} />
          </>
        ) : null}
      </div>
      {outcome.error?.message.includes('virt-snaptree recover') === true ? (
        <button type="button" className="button" onClick={() => void recover()}>
          Finish or undo it
        </button>
      ) : null}
      {outcome.made !== undefined && sourceId !== null ? (
        <button type="button" className="button" data-testid="open-made" onClick={() => {
            dismiss();
            selectDomain(sourceId, outcome.made ?? null);
          }}
        >
          Open {outcome.made}
        </button>
      ) : null}
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={dismiss}>
        ×
      </button>
    </div>
  );
}
