/**
 * The renderer's one way to the engine: the preload bridge in the desktop app, or HTTP with the access token
 * under `serve`. Both speak the contract in shared/contract.ts.
 */
import { BRIDGE_KEY, type Bridge } from '../../shared/bridge';
import type { ApiMethod, ApiResponse, SnaptreeApi } from '../../shared/contract';
import { AppError } from '../../shared/errors';

const TOKEN_HEADER = 'x-snaptree-token';

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

function httpClient(token: string): SnaptreeApi {
  return {
    async call(method, input) {
      const res = await fetch(`api/${encodeURIComponent(method)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [TOKEN_HEADER]: token },
        body: JSON.stringify(input),
      });
      const body = (await res.json()) as ApiResponse<typeof method>;
      return unwrap(body);
    },
  };
}

/** Picks the transport this page runs on. The token is read from the URL `serve` printed. */
export function createApiClient(): SnaptreeApi {
  const bridge = (window as unknown as Record<string, Bridge | undefined>)[BRIDGE_KEY];
  if (bridge !== undefined) return bridgeClient(bridge);
  const token = new URLSearchParams(window.location.search).get('token') ?? sessionStorage.getItem('snaptree-token') ?? '';
  if (token !== '') sessionStorage.setItem('snaptree-token', token);
  return httpClient(token);
}
