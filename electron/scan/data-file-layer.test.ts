import { execFileSync } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { fileGraph } from '../../shared/file-graph';
import type { Domain, Layer, ScanResult, Source } from '../../shared/model';
import { Engine } from '../engine';
import { dataFilesOf, filesOf } from '../test-support/checks';
import { TestLab, TEST_URI, qemuImgSync } from '../test-support/lab';
import { writePattern } from '../tools/qemu-io';

const MiB = 1024 * 1024;
let lab: TestLab;
let engine: Engine;

/** A qcow2 image whose guest data lives in `data` (named as given), with 1 MiB of data written through it. */
async function dataImage(image: string, data: string, cwd?: string): Promise<void> {
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${data}`, image, '8M'], cwd === undefined ? {} : { cwd });
  execFileSync('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x22 0 1M', image], cwd === undefined ? {} : { cwd });
}

const allProblems = (scan: ScanResult) => [...scan.problems, ...scan.domains.flatMap((d) => d.problems)];
const layerOf = (scan: ScanResult, path: string): Layer | undefined => scan.domains.map((d) => d.layers[path]).find((l) => l !== undefined);
/** qemu-img's actual size of the image alone: it does not count the data file. */
const qemuActual = (path: string) => (JSON.parse(qemuImgSync(['info', '-U', '--output=json', path])) as { 'actual-size': number })['actual-size'];

beforeEach(async () => {
  lab = await new TestLab().init();
  process.env.SNAPTREE_DATA_DIR = lab.path('data');
  engine = new Engine({ host: 'serve' });
});
afterEach(async () => {
  await engine.close();
  await lab.cleanup();
});

describe('an external data file is part of its layer', () => {
  test('in a folder, a healthy one: the layer names it with its size, the file graph shows it, byte checks cover it, and plans refuse saying what the app would need', async () => {
    const folder = lab.path('imgs');
    await mkdir(folder);
    const image = join(folder, 'disk.qcow2');
    const data = join(folder, 'disk.data');
    await dataImage(image, data);
    const source: Source = { kind: 'folder', path: folder };
    const scan = await engine.scan(source);

    const layer = layerOf(scan, image);
    expect(layer?.dataFile).toEqual({ path: data, exists: true, size: (await stat(data)).blocks * 512 });
    expect(layer?.dataFile?.size).toBeGreaterThanOrEqual(MiB);
    expect(layer?.actualSize).toBe(qemuActual(image));
    expect(allProblems(scan).map((p) => [p.code, p.severity])).toEqual([['external-data-file', 'warning']]);

    const domain = scan.domains[0] as Domain;
    const node = fileGraph(scan, domain).nodes.find((n) => n.path === image);
    expect(node?.dataFile).toEqual(layer?.dataFile);
    expect(node?.labels).toContain(`guest data in the external file ${data}`);
    expect(filesOf(domain).sort()).toEqual([data, image]);
    expect(dataFilesOf(domain)).toEqual({ [image]: data });

    const planned = await engine.plan(source, { op: 'repair', domain: domain.name, path: image, mode: 'leaks' });
    expect(planned.ok).toBe(false);
    expect(planned.ok ? '' : planned.refusal.message).toMatch(/would have to carry the data file along/);
  });

  test('in a folder, a missing one is an error on the layer, shown on its node', async () => {
    const folder = lab.path('imgs');
    await mkdir(folder);
    const image = join(folder, 'disk.qcow2');
    const data = join(folder, 'disk.data');
    await dataImage(image, data);
    await rm(data);
    const scan = await engine.scan({ kind: 'folder', path: folder });
    expect(layerOf(scan, image)?.dataFile).toEqual({ path: data, exists: false, size: 0 });
    const missing = allProblems(scan).find((p) => p.code === 'missing-data-file');
    expect(missing).toMatchObject({ severity: 'error', path: image });
    expect(missing?.message).toContain(`${data} of ${image} is missing`);
    const node = fileGraph(scan, scan.domains[0] as Domain).nodes.find((n) => n.path === image);
    expect(node?.labels).toContain(`its external data file ${data} is missing`);
  });

  test("a relative data file name is opened by QEMU from the opening process's working directory, so the layer says which file cannot be known", async () => {
    const folder = lab.path('imgs');
    await mkdir(folder);
    await mkdir(lab.path('elsewhere'));
    const image = join(folder, 'disk.qcow2');
    await dataImage(image, 'disk.data', folder);
    // The judge: qemu-io opens it from the image's folder, and fails from any other.
    execFileSync('qemu-io', ['-f', 'qcow2', '-r', '-c', 'read -P 0x22 0 1M', image], { cwd: folder });
    expect(() => execFileSync('qemu-io', ['-f', 'qcow2', '-r', '-c', 'read 0 1M', image], { cwd: lab.path('elsewhere'), stdio: 'pipe' })).toThrow(/disk\.data/);

    const scan = await engine.scan({ kind: 'folder', path: folder });
    expect(layerOf(scan, image)?.dataFile).toEqual({ path: 'disk.data', exists: null, size: 0 });
    const problems = allProblems(scan);
    expect(problems.map((p) => p.code)).toEqual(['external-data-file']);
    expect(problems[0]?.message).toMatch(/working directory of whatever process opens the image/);
  });

  test('in a libvirt domain: a healthy data file is shown on the disk layer; a missing one is an error and plans are refused with it', async () => {
    const source: Source = { kind: 'libvirt', uri: TEST_URI };
    const image = lab.path('vm.qcow2');
    const data = lab.path('vm.data');
    await dataImage(image, data);
    await writePattern(image, 'qcow2', 0x33, 2 * MiB, MiB);
    const vm = await lab.define({ name: 'datafile-layer', disks: [{ target: 'vda', file: image, format: 'qcow2' }] });

    const healthy = (await engine.scanDomain(source, vm)) as Domain;
    expect(healthy.disks[0]?.chain).toEqual([image]);
    expect(healthy.layers[image]?.dataFile).toEqual({ path: data, exists: true, size: (await stat(data)).blocks * 512 });
    expect(healthy.problems.filter((p) => p.severity === 'error')).toEqual([]);

    await rm(data);
    const broken = (await engine.scanDomain(source, vm)) as Domain;
    expect(broken.layers[image]?.dataFile).toMatchObject({ exists: false });
    expect(broken.problems.find((p) => p.code === 'missing-data-file')).toMatchObject({ severity: 'error', path: image });
    const planned = await engine.plan(source, { op: 'create-snapshot', domain: vm, name: 's1' });
    expect(planned.ok).toBe(false);
    expect(planned.ok ? '' : planned.refusal.message).toMatch(/external data file/);
  });
});
