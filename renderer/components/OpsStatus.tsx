import { useEffect, useRef, type ReactElement } from 'react';
import { useAppActions, useAppStore } from '../store/context';
import { selectOpsActions, selectOutcome, selectPanelActions, selectRunning, selectSelectionActions, selectSourceId } from '../store/selectors';
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

/** The running operation with its progress and a cancel button, and the outcome of the last one. */
export function OpsStatus(): ReactElement | null {
  const running = useAppStore(selectRunning);
  useFocusAfterRun(running?.operationId ?? null);
  const outcome = useAppStore(selectOutcome);
  const { cancelRunning: cancel, dismissOutcome: dismiss } = useAppActions(selectOpsActions);
  const { recover } = useAppActions(selectPanelActions);
  const { selectDomain } = useAppActions(selectSelectionActions);
  const sourceId = useAppStore(selectSourceId);
  if (running !== null) {
    const p = running.progress;
    const percent = p?.percent ?? null;
    const overall = p === null ? 0 : ((p.step + (percent ?? 0) / 100) / Math.max(1, p.steps)) * 100;
    return (
      <div className="ops-status" role="status" data-testid="ops-running">
        <div className="ops-status-text">
          {p ? `Step ${p.step + 1} of ${p.steps}: ` : ''}
          {running.sentence}
        </div>
        <progress max={100} value={overall} aria-label="Progress" />
        <button type="button" className="button" onClick={() => void cancel()}>
          Cancel
        </button>
      </div>
    );
  }
  if (outcome === null) return null;
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
