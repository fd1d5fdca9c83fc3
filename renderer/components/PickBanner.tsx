import type { ReactElement } from 'react';
import { useAppActions, useAppStore } from '../store/context';
import { selectComparePick, selectInspectActions } from '../store/selectors';
import './PickBanner.css';

/** While "Compare with…" waits for the other side: what to do, and a way out. */
export function PickBanner({ name }: { name: string }): ReactElement | null {
  const comparePick = useAppStore(selectComparePick);
  const { cancelComparePick: cancelPick } = useAppActions(selectInspectActions);
  if (comparePick === null) return null;
  return (
    <div className="pick-banner" role="status" data-testid="pick-banner">
      <span>
        Pick what to compare <strong>{name}</strong> with: click it, or move with the arrows and press Enter. Esc cancels.
      </span>
      <button type="button" className="button button-small" onClick={cancelPick}>
        Cancel
      </button>
    </div>
  );
}
