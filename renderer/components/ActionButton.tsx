import type { ReactElement } from 'react';
import type { NodeAction } from '../../shared/ops/node-actions';
import { useAppActions } from '../store/context';
import { selectOpsActions } from '../store/selectors';

/** A button that opens an operation's preview; disabled, with the engine's reason as its tooltip, when refused. */
export function ActionButton({ action, label = action.label }: { action: NodeAction; label?: string }): ReactElement {
  const { startAction: start } = useAppActions(selectOpsActions);
  return (
    <button
      type="button"
      className={`button button-small${action.danger ? ' button-danger-outline' : ''}`}
      disabled={action.disabled !== null}
      title={action.disabled ?? undefined}
      onClick={() => start(action)}
    >
      {label}
    </button>
  );
}
