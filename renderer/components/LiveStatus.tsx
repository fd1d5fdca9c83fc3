import type { ReactElement } from 'react';
import './LiveStatus.css';
import { useAppActions, useAppStore } from '../store/context';
import { selectLiveActions, selectLiveNote, selectLiveStatus, selectLiveUpdatedAt, selectScannedAt } from '../store/live-slice';

/** HH:MM:SS in the user's time zone. */
function clock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

const WORDS = {
  off: { label: 'Live updates off', title: 'Changes made outside the app show after a rescan.' },
  connecting: { label: 'Connecting…', title: 'Opening the engine’s live updates.' },
  live: { label: 'Live', title: 'Changes made outside the app (virsh, qemu-img) appear here within seconds.' },
  down: { label: 'Live updates paused', title: 'The engine’s live updates dropped; trying again. Changes show after a rescan meanwhile.' },
  refused: { label: 'Token refused', title: 'The engine no longer accepts this page’s access token: open the URL “virt-snaptree serve” printed.' },
} as const;

/**
 * Whether live updates are on, when the picture was last refreshed (by a change made outside the app or by the
 * open source's scan, whichever came last), and the note when such a change cleared the selection.
 */
export function LiveStatus(): ReactElement {
  const status = useAppStore(selectLiveStatus);
  const updatedAt = useAppStore(selectLiveUpdatedAt);
  const note = useAppStore(selectLiveNote);
  const scannedAt = useAppStore(selectScannedAt);
  const { dismissLiveNote } = useAppActions(selectLiveActions);
  const words = WORDS[status];
  // The later of the two: a change made outside the app, or the open source's own scan (a rescan, an operation).
  const byChange = updatedAt !== null && (scannedAt === null || updatedAt >= scannedAt);
  const updated = byChange ? updatedAt : scannedAt;
  return (
    <div className="live-status" data-testid="live-status">
      <span className={`live-dot is-${status}`} aria-hidden="true" />
      <span className="live-label" title={words.title}>
        {words.label}
      </span>
      {updated !== null ? (
        <span className="live-updated muted" data-testid="live-updated" title={byChange ? 'Last refreshed by a change made outside the app' : 'Last refreshed by a scan'}>
          Refreshed {clock(updated)}
        </span>
      ) : null}
      {note !== null ? (
        <span className="live-note" role="status" data-testid="live-note">
          {note}
          <button type="button" className="live-note-close" onClick={dismissLiveNote} aria-label="Dismiss">
            ×
          </button>
        </span>
      ) : null}
    </div>
  );
}
