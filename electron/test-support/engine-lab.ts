/**
 * A lab and an engine for one test file: the lab's folder holds the engine's data (journals, settings), and both
 * go when the file is done. `use` is given them once they are ready.
 */
import { afterAll, beforeAll } from 'vitest';
import { Engine } from '../engine';
import { TestLab } from './lab';

export function withEngineLab(use: (lab: TestLab, engine: Engine) => void): void {
  let lab: TestLab | undefined;
  let engine: Engine | undefined;
  beforeAll(async () => {
    lab = await new TestLab().init();
    process.env.SNAPTREE_DATA_DIR = lab.path('data');
    engine = new Engine({ host: 'serve' });
    use(lab, engine);
  });
  afterAll(async () => {
    await engine?.close();
    await lab?.cleanup();
  });
}
