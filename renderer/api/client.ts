/**
 * The renderer's one way to the engine: the preload bridge in the desktop app, or HTTP with the access token
 * under `serve`. Both speak the contract in shared/contract.ts. The engine's events come through event-feed.ts.
 */
import { BRIDGE_KEY, type Bridge } from '../../shared/bridge';
import type { ApiMethod, ApiResponse, SnaptreeApi } from '../../shared/contract';
import { AppError } from '../../shared/errors';

/** The header every call under `serve` carries the access token in (the event stream's too). */
export const TOKEN_HEADER = 'x-snaptree-token';

function unwrap<M extends ApiMethod>(response: ApiResponse<M>) {
  if (response.ok) return response.value;
  throw AppError.from(response.error);
}

function bridgeClient(bridge: Bridge): SnaptreeApi {
  return {
    async call(method, input) {
      return unwrap((await bridge.invoke(method, input)) as ApiResponse<typeof method>);
    },
  };
}

/** Whether the engine answers calls, as the last call found: `lost` when it could not be reached at all. */
export type Reach = 'ok' | 'lost';
const reachListeners = new Set<(reach: Reach) => void>();

/** Hears whether calls reach the engine (the live slice shows a banner when they do not); returns the unsubscribe. */
export function onReach(listener: (reach: Reach) => void): () => void {
  reachListeners.add(listener);
  return () => reachListeners.delete(listener);
}

function reportReach(reach: Reach): void {
  for (const listener of reachListeners) listener(reach);
}

/** What a call says when the engine could not be reached: a network error, or no JSON from it. */
const LOST = 'The engine does not answer: "virt-snaptree serve" (or the app) may have stopped. The page reconnects by itself once it is back.';

function httpClient(token: string): SnaptreeApi {
  return {
    async call(method, input) {
      if (token === '') throw new AppError('E_UNAUTHORIZED', 'This page has no access token. Run "virt-snaptree serve" and open the URL it prints, with its token; start it with --token-file FILE for a URL that survives restarts.');
      let body: ApiResponse<typeof method>;
      try {
        const res = await fetch(`api/${encodeURIComponent(method)}`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: token },
          body: JSON.stringify(input),
        });
        body = (await res.json()) as ApiResponse<typeof method>;
      } catch {
        reportReach('lost');
        throw new AppError('E_CONNECT', LOST);
      }
      reportReach('ok');
      return unwrap(body);
    },
  };
}

const TOKEN_KEY = 'snaptree-token';

/**
 * The access token under `serve`: taken from the printed URL once, then kept in this tab's session storage
 * (scoped to this origin and port, gone with the tab) and removed from the address bar and history, so it does
 * not linger where others can read it.
 */
export function takeToken(location: Location, history: History, storage: Storage): string {
  const url = new URL(location.href);
  const given = url.searchParams.get('token');
  if (given !== null) {
    storage.setItem(TOKEN_KEY, given);
    url.searchParams.delete('token');
    history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`);
    return given;
  }
  return storage.getItem(TOKEN_KEY) ?? '';
}

/** The preload bridge, in the desktop app; undefined in a browser under `serve`. */
export function findBridge(): Bridge | undefined {
  const value: unknown = Reflect.get(window, BRIDGE_KEY);
  return typeof value === 'object' && value !== null && 'invoke' in value ? (value as Bridge) : undefined;
}

/** Picks the transport this page runs on. */
export function createApiClient(): SnaptreeApi {
  const bridge = findBridge();
  if (bridge !== undefined) return bridgeClient(bridge);
  return httpClient(takeToken(window.location, window.history, window.sessionStorage));
}
