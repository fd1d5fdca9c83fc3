import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { isLocalUri } from './connection-watch';
import { EventHub } from './event-hub';
import { diskFiles } from './fingerprint';
import { DomainEventStream, parseEventLine, type EventChild } from './virsh-events';

describe('parseEventLine', () => {
  test.each([
    ["2026-11-29 07:04:26.147+0000: event 'lifecycle' for domain 'web': Defined Added", { event: 'lifecycle', domain: 'web' }],
    ["event 'lifecycle' for domain 'a b': Stopped Destroyed", { event: 'lifecycle', domain: 'a b' }],
    ["event 'reboot' for domain 'vm'", { event: 'reboot', domain: 'vm' }],
    ["2026-11-29 07:04:26.147+0000: event 'block-job' for domain 'x': Block Commit for /a/b ready", { event: 'block-job', domain: 'x' }],
    ['events received: 3', null],
    ['', null],
  ])('%s', (line, expected) => {
    expect(parseEventLine(line)).toEqual(expected);
  });
});

test('diskFiles takes the file sources of domblklist --details, spaces included, and leaves the rest', () => {
  const out = ' file   disk   vda   /var/lib/a b.qcow2\n file   cdrom  hdc    -\n network disk vdb pool/vol\n';
  expect(diskFiles(out)).toEqual(['/var/lib/a b.qcow2']);
});

/** A fake `virsh event` process: lines written to it come out on stdout; `exit()` ends it. */
function fakeChild(): EventChild & { stdout: PassThrough; exit(): void; killed: boolean } {
  const stdout = new PassThrough();
  const exits: Array<() => void> = [];
  const child = {
    stdout,
    killed: false,
    kill: () => {
      child.killed = true;
    },
    onExit: (listener: () => void) => void exits.push(listener),
    exit: () => {
      stdout.end();
      for (const l of exits) l();
    },
  };
  return child;
}

describe('DomainEventStream', () => {
  test('hands on each event line, starts a dead process again after a pause, and says so; stop kills it', async () => {
    const children: ReturnType<typeof fakeChild>[] = [];
    const events: string[] = [];
    let restarts = 0;
    const stream = new DomainEventStream('test:///default', (e) => events.push(e.domain), () => restarts++, {
      spawn: () => {
        const child = fakeChild();
        children.push(child);
        return child;
      },
      backoffMs: 20,
    });
    children[0]?.stdout.write("event 'lifecycle' for domain 'one': Started Booted\nnoise\n");
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['one']);
    children[0]?.exit();
    await new Promise((r) => setTimeout(r, 60));
    expect(children).toHaveLength(2);
    expect(restarts).toBe(1);
    children[1]?.stdout.write("event 'lifecycle' for domain 'two': Defined Updated\n");
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['one', 'two']);
    stream.stop();
    expect(children[1]?.killed).toBe(true);
    children[1]?.exit();
    await new Promise((r) => setTimeout(r, 60));
    expect(children).toHaveLength(2);
  });
});

test('EventHub reports its first listener and its last leaving, and one failing listener does not stop the others', () => {
  const activity: boolean[] = [];
  const hub = new EventHub((active) => activity.push(active));
  const heard: string[] = [];
  const a = hub.subscribe(() => {
    throw new Error('closed window');
  });
  const b = hub.subscribe((e) => heard.push(e.type));
  hub.emit({ type: 'finished', operationId: 'x' });
  a();
  a();
  b();
  expect(heard).toEqual(['finished']);
  expect(activity).toEqual([true, false]);
});

test('only a connection to this computer has its disks folders watched here', () => {
  expect(isLocalUri('qemu:///system')).toBe(true);
  expect(isLocalUri('qemu:///session')).toBe(true);
  expect(isLocalUri('qemu+ssh://root@host/system')).toBe(false);
  expect(isLocalUri('qemu+ssh://root@127.0.0.1:2222/system?keyfile=/k')).toBe(false);
});
