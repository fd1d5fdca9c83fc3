import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { scanLibvirt } from '../scan/scan-libvirt';
import { TestLab, TEST_URI, virshSync } from '../test-support/lab';
import { qemuImgCreate } from './qemu-img';
import { openVirsh, quoteVirshArg, VirshSession } from './virsh';
import { virshReader } from '../scan/libvirt-reader';

let lab: TestLab;
/** A domain that no command under test names on purpose: each payload below tries to undefine it. */
let other: string;
let otherXml: string;

beforeAll(async () => {
  lab = await new TestLab().init();
  await qemuImgCreate(lab.path('other.qcow2'), { size: 16 << 20 });
  other = await lab.define({ name: 'other', disks: [{ target: 'vda', file: lab.path('other.qcow2'), format: 'qcow2' }] });
  otherXml = virshSync(['dumpxml', '--domain', other, '--inactive']);
});

afterAll(async () => {
  await lab?.cleanup();
});

function expectOtherUntouched(): void {
  expect(virshSync(['dumpxml', '--domain', other, '--inactive'])).toBe(otherXml);
}

/** Keys a line editor acts on, each followed by a command that would undefine the other domain. */
function payloads(): string[] {
  const undefine = `undefine ${other} ;#`;
  return [
    `x\u0015${undefine}`, // Ctrl-U: erase the line typed so far
    `x\u0017\u0017\u0017\u0017${undefine}`, // Ctrl-W: erase words
    `x\u001b[A${undefine}`, // ESC [ A: the arrow key up, an earlier line
    `x\u0001${undefine}`, // Ctrl-A: to the start of the line
    `/tm\t${undefine}`, // TAB: complete a file name
    `x\u0085${undefine}`, // C1 NEL
    `x\u009bA${undefine}`, // C1 CSI
    `x\u007f${undefine}`, // DEL
    `x\r${undefine}`, // a carriage return ends the line
    `x\n${undefine}`,
    `x\ud800${undefine}`, // a lone surrogate
  ];
}

describe('quoteVirshArg', () => {
  test.each([
    ['plain-name_1.2', 'plain-name_1.2'],
    ['two words', "'two words'"],
    ["it's", "'it'\\''s'"],
    ['$(x); y', "'$(x); y'"],
    ['', "''"],
    ['a\\b', "'a\\b'"],
    ['"dq"', `'"dq"'`],
    ['#comment', "'#comment'"],
    ['!!', "'!!'"],
    ['-x', '-x'],
    [' spaced  out ', "' spaced  out '"],
  ])('%j becomes %s', (arg, quoted) => {
    expect(quoteVirshArg(arg)).toBe(quoted);
  });
});

describe('VirshSession', () => {
  test('runs many commands on one process and reports each failure against its own command', async () => {
    const virsh = openVirsh(TEST_URI);
    try {
      const results = await Promise.allSettled([
        virsh.run(['version']),
        virsh.run(['dominfo', '--domain', 'snaptree-no-such-domain-x']),
        virsh.run(['echo', "it's", 'two words']),
      ]);
      expect(results[0]).toMatchObject({ status: 'fulfilled', value: expect.stringContaining('libvirt') });
      expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'E_TOOL' } });
      expect(results[2]).toMatchObject({ status: 'fulfilled', value: expect.stringMatching(/^it's two words\n?$/) });
    } finally {
      await virsh.close();
    }
  });

  test('echoes every printable argument exactly as given, whatever key bindings the machine has: quotes, backslashes, comments, unicode, long lines', async () => {
    // A machine's inputrc that binds a printable key and turns off eight-bit input: the session must not care.
    const hostile = lab.path('hostile-inputrc');
    await writeFile(hostile, 'set input-meta off\nset output-meta off\nset convert-meta on\n"z": unix-line-discard\n');
    const saved = process.env.INPUTRC;
    process.env.INPUTRC = hostile;
    const session = new VirshSession(TEST_URI);
    try {
      const args = [
        'a\\b',
        '\\',
        "it's",
        `'"mixed'" quotes"'`,
        '#not a comment',
        'semi;colon ; echo no',
        '$(touch pwned) ${HOME} `id`',
        '!! !-1 ^x^y',
        '-x',
        ' spaced  out ',
        '~ * ? [a] %s',
        'ünïcødé 中文 😀 𝄞 \u00a0nbsp \u2028ls \u2029ps \ufeffbom',
        `${'long unicode ü 中 😀 '.repeat(40)}end`,
        'lazy zebra',
        'virsh # looks like a prompt',
        'virsh # ',
      ];
      for (const arg of args) expect((await session.run(['echo', arg])).replace(/\n$/, ''), JSON.stringify(arg)).toBe(arg);
    } finally {
      await session.close();
      if (saved === undefined) delete process.env.INPUTRC;
      else process.env.INPUTRC = saved;
    }
  });

  test('cuts outputs exactly on a read-only connection, whose prompt is virsh > : prompt-like text kept, failures reported, changes refused', async () => {
    const session = new VirshSession(TEST_URI, { readOnly: true });
    try {
      for (const arg of ['virsh > s1', 'virsh # s1', 'virsh > ', 'plain']) expect((await session.run(['echo', arg])).replace(/\n$/, '')).toBe(arg);
      expect(await session.run(['version'])).toMatch(/^Compiled against library: libvirt/);
      await expect(session.run(['dominfo', '--domain', 'snaptree-no-such-domain-x'])).rejects.toMatchObject({ code: 'E_TOOL' });
      await expect(session.run(['undefine', '--domain', other])).rejects.toMatchObject({ code: 'E_TOOL', details: { stderr: expect.stringMatching(/read only|read-only/i) } });
      expectOtherUntouched();
    } finally {
      await session.close();
    }
  });

  test('a command that outlives its timeout fails, and the session answers the next command on a fresh virsh', async () => {
    const session = new VirshSession(TEST_URI);
    try {
      // No ordinary command is slow here; a zero-millisecond budget stands for one that never answers.
      await expect(session.run(['version'], { timeoutMs: 0 })).rejects.toMatchObject({ code: 'E_TOOL', message: expect.stringContaining('stopped answering') });
      expect(await session.run(['echo', 'after'])).toMatch(/^after\n?$/);
    } finally {
      await session.close();
    }
  });

  test('refuses a command with a control character before writing anything: the other domain survives', async () => {
    const session = new VirshSession(TEST_URI);
    try {
      for (const payload of payloads()) {
        await expect(session.run(['echo', payload]), JSON.stringify(payload)).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
      }
      // The session was never disturbed: it still answers, and nothing reached libvirt.
      expect(await session.run(['echo', 'still here'])).toMatch(/^still here\n?$/);
      expectOtherUntouched();
    } finally {
      await session.close();
    }
  });
});

describe('VirshPool', () => {
  test('runs a command with control characters in a process of its own, its bytes exact, the other domain untouched', async () => {
    const virsh = openVirsh(TEST_URI);
    try {
      for (const payload of payloads().filter((p) => !/\p{Cs}/u.test(p))) {
        expect((await virsh.run(['echo', payload])).replace(/\n$/, ''), JSON.stringify(payload)).toBe(payload);
      }
      expectOtherUntouched();
    } finally {
      await virsh.close();
    }
  });

  test('scans a snapshot that plain virsh named with a tab under its exact name', async () => {
    await qemuImgCreate(lab.path('tabbed.qcow2'), { size: 16 << 20 });
    const tabbed = await lab.define({ name: 'tabbed', disks: [{ target: 'vda', file: lab.path('tabbed.qcow2'), format: 'qcow2' }] });
    const name = 'before\tupgrade';
    lab.snapshot(tabbed, name, ['--diskspec', `vda,snapshot=external,file=${lab.path('tabbed.1.qcow2')}`]);
    const virsh = openVirsh(TEST_URI);
    try {
      const scan = await scanLibvirt(virshReader(virsh), { domains: [tabbed] });
      const domain = scan.domains.find((d) => d.name === tabbed);
      expect(domain?.snapshots.map((s) => s.name)).toEqual([name]);
      expect(scan.problems).toEqual([]);
    } finally {
      await virsh.close();
    }
  });

  test('scans snapshots whose names look like the session prompt under their exact names and parents', async () => {
    await qemuImgCreate(lab.path('prompty.qcow2'), { size: 16 << 20 });
    const prompty = await lab.define({ name: 'prompty', disks: [{ target: 'vda', file: lab.path('prompty.qcow2'), format: 'qcow2' }] });
    const names = ['virsh # s1', 'virsh # s2'];
    for (const [i, name] of names.entries()) lab.snapshot(prompty, name, ['--diskspec', `vda,snapshot=external,file=${lab.path(`prompty.${i}.qcow2`)}`]);
    const virsh = openVirsh(TEST_URI);
    try {
      const domain = (await scanLibvirt(virshReader(virsh), { domains: [prompty] })).domains.find((d) => d.name === prompty);
      expect(domain?.snapshots.map((s) => s.name).sort()).toEqual(names);
      expect(domain?.snapshots.find((s) => s.name === 'virsh # s2')?.parent).toBe('virsh # s1');
    } finally {
      await virsh.close();
    }
  });

  test('a process per call takes the same timeout and cancel as a session', async () => {
    const perCall = openVirsh(TEST_URI, 'per-call');
    await expect(perCall.run(['version'], { timeoutMs: 1 })).rejects.toMatchObject({ code: 'E_TOOL', message: expect.stringContaining('stopped answering') });
    const controller = new AbortController();
    const running = perCall.run(['version'], { signal: controller.signal });
    controller.abort();
    await expect(running).rejects.toMatchObject({ code: 'E_CANCELLED' });
    expect(await perCall.run(['echo', 'fine'])).toMatch(/^fine\n?$/);
  });

  test('refuses a first argument that is not a command word, which virsh would read as a whole command line', async () => {
    const virsh = openVirsh(TEST_URI);
    try {
      for (const args of [[`echo x; undefine ${other}`], ['-k0', 'version'], ['']]) {
        await expect(virsh.run(args)).rejects.toMatchObject({ code: 'E_BAD_INPUT' });
      }
      expectOtherUntouched();
    } finally {
      await virsh.close();
    }
  });
});
