/**
 * The preload bridge, kept apart from the contract's schemas so that the preload bundle stays tiny.
 * The renderer narrows the response with the contract's types.
 */

/** Name of the bridge object the preload exposes on `window`. */
export const BRIDGE_KEY = 'snaptree';

export interface Bridge {
  invoke(method: string, input: unknown): Promise<unknown>;
}
