/**
 * A fake transport for JobsClient: answers by route, records the requests.
 */
import { ServerConnection } from '@jupyterlab/services';

import { IJob, JobsClient } from '../api';

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
