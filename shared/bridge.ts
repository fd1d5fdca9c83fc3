/**
 * The preload bridge, kept apart from the contract's schemas so that the preload bundle stays tiny.
 * The renderer narrows the response with the contract's types.
 */
import type { EngineEvent } from './contract';

/** Name of the bridge object the preload exposes on `window`. */
export const BRIDGE_KEY = 'snaptree';

export interface Bridge {
  invoke(method: string, input: unknown): Promise<unknown>;
  /** Calls `listener` with each event the engine pushes; returns the function that stops it. */
  onEvent(listener: (event: EngineEvent) => void): () => void;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isText = (value: unknown): value is string => typeof value === 'string' && value.length <= 5000;
const isOptionalText = (value: unknown): boolean => value === undefined || isText(value);
const isCount = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value);

/**
 * Whether a value has an engine event's shape. Checked by hand, not with zod, so the preload stays small; the
 * preload and the HTTP event stream both drop anything else.
 */
export function isEngineEvent(value: unknown): value is EngineEvent {
  if (!isRecord(value)) return false;
  switch (value.type) {
    case 'progress': {
      const e = value.event;
      return isRecord(e) && isText(e.operationId) && isCount(e.step) && isCount(e.steps) && isText(e.sentence) && (e.percent === null || isCount(e.percent));
    }
    case 'finished':
      return isText(value.operationId);
    case 'source-changed':
      return isText(value.sourceId) && isText(value.at) && isOptionalText(value.domain) && isOptionalText(value.folder) && (value.domain !== undefined) !== (value.folder !== undefined);
    default:
      return false;
  }
}
