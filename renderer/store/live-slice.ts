/**
 * The live picture in the store (docs/architecture.md, "Events and the live picture"): the engine's events,
 * taken once from the event feed. Progress updates the running operation; a source changed outside the app is
 * read again (that domain, or that folder) and put in place, never moving the user's selection or viewport. When
 * the selected node or the open domain is gone, the selection clears with a short note.
 */
import type { StateCreator } from 'zustand';
import type { EngineEvent, SnaptreeApi } from '../../shared/contract';
import { toErrorData } from '../../shared/errors';
import type { Domain, ScanResult } from '../../shared/model';
import { snapshotGraph } from '../../shared/snapshot-graph';
import { onReach, type Reach } from '../api/client';
import { createEventFeed, type EventFeed, type FeedStatus } from '../api/event-feed';
import type { AppState } from './store';

export interface LiveState {
  /** `off` until the feed is connected; then whether events flow. */
  status: 'off' | FeedStatus;
  /** When a change made outside the app was last put on screen (ISO), or null. */
  updatedAt: string | null;
  /** When the last event of any kind came (ms since the epoch); progress polling stands in when it is old. */
  lastEventAt: number;
  /** Says why the selection was cleared, for a moment. */
  note: string | null;
  /**
   * Whether the engine answers: `lost` while it does not (the stream dropped, a call could not reach it), and the
   * app is read-only until it is back; `refused` when it answers but no longer takes this page's token.
   */
  engine: 'ok' | 'lost' | 'refused';
}

export interface LiveSlice {
  live: LiveState;
  /**
   * Subscribes to the engine's events (once, from the app's root) and to whether calls reach it; returns the
   * function that stops both. `reach` is the client's (tests give their own).
   */
  connectLive(feed?: EventFeed, reach?: (listener: (reach: Reach) => void) => () => void): () => void;
  onEngineEvent(event: EngineEvent): void;
  /** Reads again what a `source-changed` event names and puts it in place. */
  refreshChanged(event: Extract<EngineEvent, { type: 'source-changed' }>): Promise<void>;
  /** Reads every source again: after the feed was down, changes may have gone unannounced. */
  resyncSources(): Promise<void>;
  dismissLiveNote(): void;
}

/** How long progress events may stay away before the running operation is polled again. */
export const EVENT_SILENCE_MS = 2000;
const NOTE_MS = 8000;

// Selectors of this slice (module level, see selectors.ts).
export const selectLive = (s: AppState) => s.live;
// What the status line shows, each on its own: events come often and move only `lastEventAt`.
export const selectLiveStatus = (s: AppState) => s.live.status;
export const selectLiveUpdatedAt = (s: AppState) => s.live.updatedAt;
export const selectLiveNote = (s: AppState) => s.live.note;
/** Whether the engine answers (the banner, and every action, read it). */
export const selectEngine = (s: AppState) => s.live.engine;
/** When the open source was last scanned, or null: the status line's time until a change comes. */
export const selectScannedAt = (s: AppState) => (s.sourceId === null ? null : s.scans[s.sourceId]?.result?.scannedAt || null);
export const selectLiveActions = (s: AppState) => ({ dismissLiveNote: s.dismissLiveNote, connectLive: s.connectLive });

/** Whether progress should be polled: no event came for a while, or the feed is not flowing. */
export function eventsSilent(live: LiveState, now: number): boolean {
  return live.status !== 'live' || now - live.lastEventAt > EVENT_SILENCE_MS;
}

/** Whether a node of the snapshot or file view is still in the domain. */
export function nodeExists(domain: Domain, nodeId: string): boolean {
  if (nodeId.startsWith('f:')) return Object.hasOwn(domain.layers, nodeId.slice(2));
  return snapshotGraph(domain).some((node) => node.id === nodeId);
}

/** The scan with one domain replaced in place, added at the end when new, or dropped when gone (null). */
export function withDomainChanged(result: ScanResult, name: string, domain: Domain | null): ScanResult {
  const at = result.domains.findIndex((d) => d.name === name);
  const domains = [...result.domains];
  if (domain === null) {
    if (at >= 0) domains.splice(at, 1);
  } else if (at >= 0) domains[at] = domain;
  else domains.push(domain);
  return { ...result, domains };
}

/** The live slice over the engine's API. */
export const createLiveSlice =
  (api: SnaptreeApi): StateCreator<AppState, [], [], LiveSlice> =>
  (set, get, store) => {
    /** Resolves once the source's scan is not under way: a change seen meanwhile is read after it, not lost under it. */
    const settled = (sourceId: string): Promise<void> =>
      new Promise((resolve) => {
        if (get().scans[sourceId]?.status !== 'loading') return resolve();
        const stop = store.subscribe((state) => {
          if (state.scans[sourceId]?.status === 'loading') return;
          stop();
          resolve();
        });
      });
    let noteTimer: ReturnType<typeof setTimeout> | undefined;
    const note = (text: string): void => {
      set((s) => ({ live: { ...s.live, note: text } }));
      clearTimeout(noteTimer);
      noteTimer = setTimeout(() => get().dismissLiveNote(), NOTE_MS);
    };
    /** Puts a new scan of a source in place; clears what the user had open only where it is gone. */
    const putScan = (sourceId: string, result: ScanResult, at: string): void => {
      set((s) => ({ scans: { ...s.scans, [sourceId]: { status: 'ready', result } }, live: { ...s.live, updatedAt: at } }));
      const { sourceId: open, domainName, nodeId, menu } = get();
      if (open !== sourceId || domainName === null) return;
      const domain = result.domains.find((d) => d.name === domainName);
      // A menu no one sees any more would take the next Esc.
      if (menu !== null && (domain === undefined || !nodeExists(domain, menu.nodeId))) get().closeMenu();
      if (domain === undefined) {
        get().selectDomain(null, null);
        note(`"${domainName}" is gone: it was removed outside the app.`);
      } else if (nodeId !== null && !nodeExists(domain, nodeId)) {
        get().selectNode(null);
        note(`The selected node is gone: "${domainName}" was changed outside the app.`);
      }
    };
    return {
      live: { status: 'off', updatedAt: null, lastEventAt: 0, note: null, engine: 'ok' },
      connectLive(feed = createEventFeed(), reach = onReach) {
        let wasDown = false;
        const engineIs = (engine: LiveState['engine']): void => {
          if (get().live.engine === engine) return;
          set((s) => ({ live: { ...s.live, engine } }));
          // Nothing can be done meanwhile: an open menu or preview would act on a picture that may be stale.
          if (engine !== 'ok') set({ menu: null, preview: null });
        };
        const stopFeed = feed(
          (event) => get().onEngineEvent(event),
          (status) => {
            set((s) => ({ live: { ...s.live, status } }));
            if (status === 'down' || status === 'refused') {
              wasDown = true;
              engineIs(status === 'down' ? 'lost' : 'refused');
            }
            if (status === 'live') {
              engineIs('ok');
              if (wasDown) {
                wasDown = false;
                void get().resyncSources();
              }
            }
          },
        );
        const stopReach = reach((answer) => {
          if (answer === 'lost' && get().live.engine === 'ok') engineIs('lost');
          // A call that got through clears a loss only the calls saw; the stream's own loss waits for the stream.
          else if (answer === 'ok' && get().live.engine === 'lost' && get().live.status !== 'down') engineIs('ok');
        });
        return () => {
          stopFeed();
          stopReach();
        };
      },
      onEngineEvent(event) {
        set((s) => ({ live: { ...s.live, lastEventAt: Date.now() } }));
        if (event.type === 'progress') get().showProgress(event.event);
        else if (event.type === 'source-changed') void get().refreshChanged(event);
      },
      async refreshChanged(event) {
        const { sourceId } = event;
        await settled(sourceId);
        if (get().scans[sourceId]?.result === undefined) return;
        // The operation running on the open domain brings its own rescan.
        if (get().running !== null && get().sourceId === sourceId && (event.domain === undefined || event.domain === get().domainName)) return;
        try {
          if (event.folder !== undefined) return putScan(sourceId, await api.call('scan', { sourceId }), event.at);
          const name = event.domain ?? '';
          const domain = await api.call('scanDomain', { sourceId, domain: name }).catch((error: unknown) => {
            if (toErrorData(error).code === 'E_NOT_FOUND') return null;
            throw error;
          });
          const result = get().scans[sourceId]?.result;
          if (result !== undefined) putScan(sourceId, withDomainChanged(result, name, domain), event.at);
        } catch {
          // Not readable just now: the next change, or a rescan, brings it.
        }
      },
      async resyncSources() {
        const at = new Date().toISOString();
        await Promise.all(
          Object.keys(get().scans).map(async (sourceId) => {
            if (get().scans[sourceId]?.result === undefined) return;
            const result = await api.call('scan', { sourceId }).catch(() => null);
            if (result !== null) putScan(sourceId, result, at);
          }),
        );
      },
      dismissLiveNote() {
        clearTimeout(noteTimer);
        set((s) => ({ live: { ...s.live, note: null } }));
      },
    };
  };
