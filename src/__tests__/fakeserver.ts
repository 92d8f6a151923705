/**
 * A fake transport for JobsClient: answers by route, records the requests.
 */
import { ServerConnection } from '@jupyterlab/services';

import { ICompareSeries, IJob, IMetricSummary, IRun, JobsClient } from '../api';
import { IJobActions } from '../components/common';

export interface IRecorded {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  body: any;
}

export type Handler = (
  request: IRecorded
) => { status?: number; body?: unknown; text?: string } | Promise<any>;

function response(status: number, text: string): Response {
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: '',
    text: () => Promise.resolve(text),
    json: () => Promise.resolve(JSON.parse(text))
  } as unknown as Response;
}

export class FakeServer {
  readonly requests: IRecorded[] = [];
  routes: { [key: string]: Handler } = {};

  client(): JobsClient {
    return new JobsClient({
      serverSettings: ServerConnection.makeSettings({
        baseUrl: 'http://localhost:8888/lab-base/',
        token: 'secret'
      }),
      fetcher: (url, init) => this.fetch(url, init)
    });
  }

  async fetch(url: string, init: RequestInit): Promise<Response> {
    const parsed = new URL(url);
    const path = parsed.pathname.replace('/lab-base/momo-jobs/api/', '');
    const request: IRecorded = {
      method: init.method ?? 'GET',
      url,
      path,
      query: parsed.searchParams,
      body: init.body ? JSON.parse(init.body as string) : undefined
    };
    this.requests.push(request);
    if (init.signal?.aborted) {
      const error = new Error('aborted');
      error.name = 'AbortError';
      throw error;
    }
    const handler =
      this.routes[`${request.method} ${path}`] ?? this.routes[path];
    if (!handler) {
      return response(404, JSON.stringify({ message: `no route ${path}` }));
    }
    const answer = await handler(request);
    const status = answer?.status ?? 200;
    const text =
      answer?.text ??
      (answer?.body !== undefined ? JSON.stringify(answer.body) : '');
    return response(status, text);
  }
}

let counter = 0;

export function makeJob(fields: Partial<IJob> = {}): IJob {
  counter++;
  return {
    id: `job${counter}`,
    name: `train-${counter}`,
    script: 'dir/train.py',
    resource: 'cpu',
    gpus: 0,
    gpu_ids: [],
    status: 'running',
    queue_position: null,
    created_at: `2026-01-01T00:00:${String(counter % 60).padStart(2, '0')}Z`,
    started_at: '2026-01-01T00:00:00Z',
    finished_at: null,
    exit_code: null,
    reason: null,
    backend: 'local',
    args: [],
    kernel: null,
    kernel_id: null,
    results_dir: 'dir/results',
    ...fields
  };
}

export function flush(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

let runCounter = 0;

export function makeRun(fields: Partial<IRun> = {}): IRun {
  runCounter++;
  return {
    id: `run${runCounter}`,
    name: `run-${runCounter}`,
    status: 'completed',
    started_at: '2026-01-01T00:00:00Z',
    duration: 60,
    sweep_id: null,
    params: {},
    metrics: {},
    peak: { cpu_percent: null, rss_bytes: null, gpu_memory_bytes: null },
    ...fields
  };
}

/** A metric summary as the server keeps it, from the values in order. */
export function summary(values: number[]): IMetricSummary {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return {
    last: values[values.length - 1],
    min,
    max,
    last_step: values.length - 1,
    min_step: values.indexOf(min),
    max_step: values.indexOf(max),
    count: values.length
  };
}

/**
 * Answer `GET /runs` over these runs as the API does: `ids`, or `status`,
 * `sweep`, `limit` (default 100), `offset`, newest first.
 */
export function serveRuns(server: FakeServer, runs: () => IRun[]): void {
  server.routes['GET runs'] = request => {
    const q = request.query;
    let rows = runs()
      .slice()
      .sort((a, b) => ((a.started_at ?? '') < (b.started_at ?? '') ? 1 : -1));
    if (q.get('ids')) {
      const ids = q.get('ids')!.split(',');
      rows = rows.filter(r => ids.includes(r.id));
    }
    if (q.get('status')) {
      const statuses = q.get('status')!.split(',');
      rows = rows.filter(r => statuses.includes(r.status));
    }
    if (q.get('sweep')) {
      rows = rows.filter(r => r.sweep_id === q.get('sweep'));
    }
    const offset = Number(q.get('offset') ?? 0);
    const limit = Number(q.get('limit') ?? 100);
    return {
      body: { runs: rows.slice(offset, offset + limit), total: rows.length }
    };
  };
}

/** Answer `GET /compare` from per-job series, filtered by `ids` and `names`. */
export function serveCompare(
  server: FakeServer,
  series: () => ICompareSeries[]
): void {
  server.routes['GET compare'] = request => {
    const ids = (request.query.get('ids') ?? '').split(',');
    const names = request.query.get('names')?.split(',');
    return {
      body: {
        x: request.query.get('x') ?? 'time',
        series: series().filter(
          s => ids.includes(s.job) && (!names || names.includes(s.name))
        )
      }
    };
  };
}

/** Job actions that do nothing, for views rendered on their own. */
export const noActions: IJobActions = {
  open: () => undefined,
  stop: () => undefined,
  rerun: () => undefined,
  remove: () => undefined,
  openConsole: () => undefined,
  openFile: () => undefined
};
