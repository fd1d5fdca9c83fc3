/**
 * The engine's listeners: whoever wants its events (a desktop window, a `serve` event stream, a test). Knows when
 * the first listener comes and the last one goes, so the live watchers run only while someone listens
 * (docs/architecture.md, "Events and the live picture").
 */
import type { EngineEvent } from '../../shared/contract';

export type EngineListener = (event: EngineEvent) => void;

export class EventHub {
  private readonly listeners = new Set<EngineListener>();

  /** `onActive(true)` when the first listener subscribes, `onActive(false)` when the last one leaves. */
  constructor(private readonly onActive: (active: boolean) => void = () => undefined) {}

  /** Adds a listener; the function returned removes it (calling it twice is harmless). */
  subscribe(listener: EngineListener): () => void {
    const wrapped: EngineListener = (event) => listener(event);
    this.listeners.add(wrapped);
    if (this.listeners.size === 1) this.onActive(true);
    return () => {
      if (!this.listeners.delete(wrapped)) return;
      if (this.listeners.size === 0) this.onActive(false);
    };
  }

  get listening(): boolean {
    return this.listeners.size > 0;
  }

  /** Hands an event to every listener; one that throws does not keep it from the others. */
  emit(event: EngineEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // A listener's failure is its own (a closed window, a dropped stream); the others still hear.
      }
    }
  }
}
