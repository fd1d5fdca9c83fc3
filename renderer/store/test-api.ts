/** A store over a stubbed API, for testing the store's own logic without an engine. */
import type { ApiInput, ApiMethod, ApiOutput, SnaptreeApi } from '../../shared/contract';
import type { ScanResult } from '../../shared/model';
import { createAppStore } from './store';

/** An API that answers from a table: the store is tested on its own, without an engine. */
export function stubApi(answers: Partial<{ [M in ApiMethod]: (input: ApiInput<M>) => Promise<ApiOutput<M>> }>): SnaptreeApi & { calls: Array<[string, unknown]> } {
  const calls: Array<[string, unknown]> = [];
  return {
    calls,
    async call(method, input) {
      calls.push([method, input]);
      const answer = answers[method] as ((input: unknown) => Promise<unknown>) | undefined;
      if (answer === undefined) throw new Error(`unexpected call ${method}`);
      return answer(input) as never;
    },
  };
}

export async function ready(api: SnaptreeApi, scan: ScanResult) {
  const store = createAppStore(api);
  store.setState({ sources: [{ id: 'c', label: 'c', source: scan.source, demo: false }], scans: { c: { status: 'ready', result: scan } }, sourceId: 'c', domainName: 'vm' });
  return store;
}
