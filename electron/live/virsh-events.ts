/**
 * libvirt's domain events, read from one long-lived `virsh event --all --loop --timestamp` per connection. Each
 * line names the event and the domain:
 *
 *   2026-11-29 07:04:26.147+0000: event 'lifecycle' for domain 'web': Defined Added
 *
 * virsh flushes each line as it prints it. libvirt 9.0 prints nothing for `snapshot-create-as` or
 * `snapshot-delete` (checked here, offline and live): the fingerprint poll (fingerprint.ts) covers what events
 * miss. A process that dies is started again with a growing pause.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { localRunner, type HostRunner } from '../tools/host-runner';

/** One event as virsh printed it. */
export interface DomainEvent {
  domain: string;
  event: string;
}

const LINE = /^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+[+-]\d{4}: )?event '([^']+)' for domain '(.*?)'(?:: .*)?$/;

/**
 * The domain and event a line of `virsh event` names, or null for anything else (the line `events received: N`,
 * a blank line). A name holding `': ` may be cut short: the rescan of a name that does not exist does no harm,
 * and the fingerprint poll finds the real one.
 */
export function parseEventLine(line: string): DomainEvent | null {
  const match = LINE.exec(line);
  if (match === null) return null;
  return { event: match[1] as string, domain: match[2] as string };
}

/** A running event process as the watcher sees it; tests put a fake in its place. */
export interface EventChild {
  readonly stdout: Readable;
  kill(): void;
  onExit(listener: () => void): void;
}

export type SpawnEvents = (uri: string) => EventChild;

/** Starts the real `virsh event` on a connection through a runner: an argument array, no shell. */
export function spawnVirshEventsOn(runner: HostRunner): SpawnEvents {
  return (uri) => {
    const child = runner.spawn('virsh', ['-q', '-c', uri, 'event', '--all', '--loop', '--timestamp']);
    child.stdin.end();
    // Nothing reads what it says on stderr; drained so a chatty virsh never blocks on a full pipe.
    child.stderr.resume();
    return {
      stdout: child.stdout,
      kill: () => child.kill(),
      onExit: (listener) => void child.ended.then(listener),
    };
  };
}

/** Starts `virsh event` on this computer. */
export const spawnVirshEvents: SpawnEvents = spawnVirshEventsOn(localRunner);

export interface EventStreamOptions {
  spawn?: SpawnEvents;
  /** First pause before a restart; doubles up to `maxBackoffMs`, and starts over once a process ran a minute. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Keeps one `virsh event` running on a connection until stopped, calling back with each event and each restart. */
export class DomainEventStream {
  private child: EventChild | null = null;
  private stopped = false;
  private backoff: number;
  private timer: NodeJS.Timeout | null = null;
  /** How many times the process was started; the first is not a restart. */
  starts = 0;

  constructor(
    private readonly uri: string,
    private readonly onEvent: (event: DomainEvent) => void,
    private readonly onRestart: () => void,
    private readonly options: EventStreamOptions = {},
  ) {
    this.backoff = options.backoffMs ?? 500;
    this.start();
  }

  private start(): void {
    if (this.stopped) return;
    const startedAt = Date.now();
    const child = (this.options.spawn ?? spawnVirshEvents)(this.uri);
    this.child = child;
    if (this.starts++ > 0) this.onRestart();
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = parseEventLine(line);
      if (event !== null) this.onEvent(event);
    });
    child.onExit(() => {
      if (this.stopped || this.child !== child) return;
      this.child = null;
      if (Date.now() - startedAt > 60_000) this.backoff = this.options.backoffMs ?? 500;
      this.timer = setTimeout(() => this.start(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, this.options.maxBackoffMs ?? 30_000);
    });
  }

  /** Stops the process for good. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.child?.kill();
    this.child = null;
  }
}
