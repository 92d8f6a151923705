/**
 * The one client of the momo-jobs REST API (DESIGN §3).
 *
 * Everything the frontend asks the server goes through `JobsClient`; it knows
 * the routes and the shapes of the answers, and nothing about widgets.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The route prefix of the server extension. */
export const API_PATH = 'momo-jobs/api';

/** The id of the jupyter_server event schema for job changes. */
export const EVENT_SCHEMA = 'urn:momo-jobs:events:job';

/**
 * Every status of a job, in the order a job moves through them; the same list
 * as `STATUSES` in momo_jobs/vocabulary.py (tests/test_frontend_vocabulary.py
 * checks that the two agree).
 */
export const JOB_STATUSES = [
  'queued',
  'running',
  'stopping',
  'completed',
  'failed',
  'stopped'
] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

export type Resource = 'cpu' | 'gpu' | 'console';

/** Statuses after which a job never changes again (`FINAL` in Python). */
export const FINAL_STATUSES: ReadonlyArray<JobStatus> = [
  'completed',
  'failed',
  'stopped'
];

/**
 * Statuses of a job that holds what it was scheduled on, a CPU slot or its
 * GPUs (`ACTIVE` in Python).
 */
export const ACTIVE_STATUSES: ReadonlyArray<JobStatus> = [
  'running',
  'stopping'
];

export function isFinal(status: JobStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export interface IJob {
  id: string;
  name: string;
  script: string;
  resource: Resource;
  gpus: number;
  gpu_ids: string[];
  status: JobStatus;
  queue_position: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  reason: string | null;
  backend: string;
  args: string[];
  kernel: string | null;
  kernel_id: string | null;
  results_dir: string;
  /** The time limit in seconds (DESIGN §3), null for none. */
  time_limit?: number | null;
  time_limit_signal?: string | null;
  /** When the running attempt's time limit falls (ISO 8601), null when not running. */
  deadline?: string | null;
  retries?: number;
  retry_on_time_limit?: boolean;
  /** 1-based: a retried job runs again under the same id. */
  attempt?: number;
  attempts?: IAttempt[];
  /** The sweep the job belongs to (null: none). */
  sweep_id?: string | null;
  /** Why some telemetry is missing (e.g. no NVML for a GPU job), or null. */
  telemetry_note?: string | null;
}

/** An ended attempt of a job. */
export interface IAttempt {
  attempt: number;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  reason: string | null;
  /** The Unix user whose server runs it. */
  user?: string;
}

export interface IJobList {
  jobs: IJob[];
  total: number;
}

export interface ISubmitRequest {
  script: string;
  resource: Resource;
  gpus?: number;
  name?: string;
  args?: string[];
  env?: { [key: string]: string };
  kernel?: string;
  /** Check and prepare the script, answer its warnings, queue nothing. */
  dry_run?: boolean;
  time_limit?: number;
  time_limit_signal?: string;
  retries?: number;
  retry_on_time_limit?: boolean;
}

/** `POST /sweeps`: one job per combination of the grid's values. */
export interface ISweepRequest extends ISubmitRequest {
  grid: { [param: string]: string[] };
  max_parallel?: number;
}

export interface ISweep {
  sweep_id: string;
  name?: string;
  max_parallel?: number | null;
  jobs: IJob[];
}

/**
 * What Python 3 can't compile in a script or notebook, one sentence each
 * (`cell 3, line 2: invalid syntax (Python 2 print?)`); empty when it should run.
 */
export interface IWarned {
  warnings?: string[];
}

export interface IExportResult extends IWarned {
  path: string;
}

export interface ICheckResult extends IWarned {
  script: string;
}

export interface ILogChunk {
  text: string;
  offset: number;
  next_offset: number;
  eof: boolean;
  /** Size of the log file in bytes, when the server tells it. */
  size?: number;
}

export type MetricX = 'time' | 'step' | 'epoch';

export interface IMetricSeries {
  name: string;
  x: number[];
  y: (number | null)[];
  count: number;
  /** Where each later attempt's points begin along the x-axis. */
  attempt_starts?: { attempt: number; x: number }[];
}

export interface IOtherValue {
  name: string;
  time: number | string;
  value: unknown;
}

export interface IMetrics {
  x: MetricX;
  series: IMetricSeries[];
  other?: IOtherValue[];
}

/** What the server keeps of one metric of a run, as its points arrive. */
export interface IMetricSummary {
  last: number | null;
  min: number | null;
  max: number | null;
  last_step: number | null;
  min_step: number | null;
  max_step: number | null;
  count: number;
}

/** Peaks of a run's telemetry (null: not measured). */
export interface IRunPeak {
  cpu_percent: number | null;
  rss_bytes: number | null;
  gpu_memory_bytes: number | null;
}

/** A row of the runs table (`GET /runs`). */
export interface IRun {
  id: string;
  name: string;
  status: JobStatus;
  started_at: string | null;
  /** Seconds run so far, or in all once ended; null before the start. */
  duration: number | null;
  sweep_id: string | null;
  params: { [name: string]: string };
  metrics: { [name: string]: IMetricSummary };
  peak: Partial<IRunPeak>;
  telemetry_note?: string | null;
}

export interface IRunList {
  runs: IRun[];
  total: number;
}

/** One metric of one run, in an overlay (`GET /compare`). */
export interface ICompareSeries extends IMetricSeries {
  job: string;
}

export interface ICompare {
  x: MetricX;
  series: ICompareSeries[];
}

export interface IResultFile {
  path: string;
  size: number;
  modified: string;
}

export interface IResults {
  dir: string;
  files: IResultFile[];
}

/**
 * Who holds a GPU on a shared machine: this server's job (`job` set), or another
 * server's (its user and since when only).
 */
export interface IGpuHolder {
  user: string | null;
  since: string | null;
  job: string | null;
}

export interface IGpu {
  index: string;
  name: string;
  memory: number | null;
  /** This server's job holding it. */
  holder: string | null;
  uuid?: string | null;
  /** Shared GPUs only: who holds it, of any server. */
  held_by?: IGpuHolder | null;
  /** Shared GPUs only: why it is busy though no momo job holds it. */
  busy?: string | null;
}

export interface IResources {
  backend: string;
  gpus: IGpu[];
  cpu_slots: { total: number; used: number };
  queues: { cpu: number; gpu: number };
}

/**
 * The data of a pushed job event.
 */
export interface IJobEvent {
  action: 'created' | 'status' | 'deleted';
  job_id: string;
  status: JobStatus;
  job: IJob | null;
}

/**
 * An error answered by the server (or by the network).
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** The server's stable name of the kind of error (DESIGN §3), or '' when it gave none. */
    readonly code: string = ''
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * What the client needs of a transport: fetch a URL, relative to the API root.
 * The default goes through JupyterLab's ServerConnection (token, XSRF).
 */
export type Fetcher = (url: string, init: RequestInit) => Promise<Response>;

export type Query = { [key: string]: string | number | boolean | undefined };

/**
 * Build `?a=1&b=2` from the defined values of a query.
 */
export function queryString(query: Query = {}): string {
  const parts = Object.keys(query)
    .filter(k => query[k] !== undefined)
    .map(
      k => `${encodeURIComponent(k)}=${encodeURIComponent(String(query[k]))}`
    );
  return parts.length ? `?${parts.join('&')}` : '';
}

export class JobsClient {
  constructor(options: JobsClient.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    this._fetch =
      options.fetcher ??
      ((url, init) =>
        ServerConnection.makeRequest(url, init, this.serverSettings));
  }

  readonly serverSettings: ServerConnection.ISettings;

  /**
   * The absolute URL of an API path (with its query).
   */
  url(path: string, query?: Query): string {
    return (
      URLExt.join(this.serverSettings.baseUrl, API_PATH, path) +
      queryString(query)
    );
  }

  /**
   * A URL a browser can download directly (a link or a new tab). It is
   * authenticated as JupyterLab's own downloads are (Drive.getDownloadUrl):
   * by the session cookie, with the `_xsrf` cookie's value as a query
   * parameter when there is one. It never carries the token, which would land
   * in browser history and proxy logs.
   */
  downloadUrl(path: string, query: Query = {}): string {
    const xsrf = xsrfCookie();
    return this.url(path, xsrf ? { ...query, _xsrf: xsrf } : query);
  }

  listJobs(
    options: { status?: JobStatus[]; limit?: number; offset?: number } = {}
  ): Promise<IJobList> {
    return this.request<IJobList>('jobs', {
      query: {
        status: options.status?.length ? options.status.join(',') : undefined,
        limit: options.limit,
        offset: options.offset
      }
    });
  }

  getJob(id: string): Promise<IJob> {
    return this.request<IJob>(`jobs/${encodeURIComponent(id)}`);
  }

  submit(body: ISubmitRequest): Promise<IJob & IWarned> {
    return this.request<IJob & IWarned>('jobs', { method: 'POST', body });
  }

  /**
   * The warnings a submission would carry, without queuing anything.
   */
  check(body: ISubmitRequest): Promise<ICheckResult> {
    return this.request<ICheckResult>('jobs', {
      method: 'POST',
      body: { ...body, dry_run: true }
    });
  }

  submitSweep(body: ISweepRequest): Promise<ISweep> {
    return this.request<ISweep>('sweeps', { method: 'POST', body });
  }

  stopSweep(id: string): Promise<ISweep> {
    return this.request<ISweep>(`sweeps/${encodeURIComponent(id)}/stop`, {
      method: 'POST'
    });
  }

  rerunSweep(id: string): Promise<ISweep> {
    return this.request<ISweep>(`sweeps/${encodeURIComponent(id)}/rerun`, {
      method: 'POST'
    });
  }

  stop(id: string): Promise<IJob> {
    return this.request<IJob>(`jobs/${encodeURIComponent(id)}/stop`, {
      method: 'POST'
    });
  }

  rerun(id: string): Promise<IJob> {
    return this.request<IJob>(`jobs/${encodeURIComponent(id)}/rerun`, {
      method: 'POST'
    });
  }

  remove(id: string): Promise<void> {
    return this.request<void>(`jobs/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
  }

  log(
    id: string,
    options: { offset?: number; limit?: number; wait?: number } = {},
    signal?: AbortSignal
  ): Promise<ILogChunk> {
    return this.request<ILogChunk>(`jobs/${encodeURIComponent(id)}/log`, {
      query: options,
      signal
    });
  }

  metrics(
    id: string,
    options: { x?: MetricX; names?: string[]; max_points?: number } = {},
    signal?: AbortSignal
  ): Promise<IMetrics> {
    return this.request<IMetrics>(`jobs/${encodeURIComponent(id)}/metrics`, {
      query: {
        x: options.x,
        names: options.names?.length ? options.names.join(',') : undefined,
        max_points: options.max_points
      },
      signal
    });
  }

  /**
   * Rows of the runs table: the runs of `ids`, or a page of them by status
   * and sweep (newest first).
   */
  runs(
    options: {
      ids?: ReadonlyArray<string>;
      status?: ReadonlyArray<JobStatus>;
      sweep?: string;
      limit?: number;
      offset?: number;
    } = {},
    signal?: AbortSignal
  ): Promise<IRunList> {
    return this.request<IRunList>('runs', {
      query: {
        ids: options.ids?.length ? options.ids.join(',') : undefined,
        status: options.status?.length ? options.status.join(',') : undefined,
        sweep: options.sweep,
        limit: options.limit,
        offset: options.offset
      },
      signal
    });
  }

  /**
   * Metrics of several runs overlaid: one series per run and metric,
   * downsampled as in `metrics()`.
   */
  compare(
    options: {
      ids: ReadonlyArray<string>;
      names?: ReadonlyArray<string>;
      x?: MetricX;
      max_points?: number;
    },
    signal?: AbortSignal
  ): Promise<ICompare> {
    return this.request<ICompare>('compare', {
      query: {
        ids: options.ids.join(','),
        names: options.names?.length ? options.names.join(',') : undefined,
        x: options.x,
        max_points: options.max_points
      },
      signal
    });
  }

  /**
   * The text of the metrics as CSV (every point).
   */
  async metricsCsv(id: string): Promise<string> {
    const response = await this._send(
      this.url(`jobs/${encodeURIComponent(id)}/metrics`, { format: 'csv' }),
      { method: 'GET' }
    );
    return response.text();
  }

  results(id: string): Promise<IResults> {
    return this.request<IResults>(`jobs/${encodeURIComponent(id)}/results`);
  }

  exportNotebook(path: string, overwrite = false): Promise<IExportResult> {
    return this.request<IExportResult>('export', {
      method: 'POST',
      body: { path, overwrite }
    });
  }

  resources(): Promise<IResources> {
    return this.request<IResources>('resources');
  }

  /**
   * Copy an example into `dir`; the notebook answered is the one in
   * `language` (e.g. `zh-CN`) when the example has one, else the English one.
   */
  createExample(
    name: string,
    dir: string,
    language?: string
  ): Promise<{ notebook: string }> {
    return this.request<{ notebook: string }>('examples', {
      method: 'POST',
      body: { name, dir, language }
    });
  }

  /**
   * Call the API and decode its JSON answer; throw an ApiError otherwise.
   */
  async request<T>(
    path: string,
    options: {
      method?: string;
      query?: Query;
      body?: unknown;
      signal?: AbortSignal;
    } = {}
  ): Promise<T> {
    const init: RequestInit = { method: options.method ?? 'GET' };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    if (options.signal) {
      init.signal = options.signal;
    }
    const response = await this._send(this.url(path, options.query), init);
    if (response.status === 204) {
      return undefined as T;
    }
    const text = await response.text();
    if (!text) {
      return undefined as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch (reason) {
      throw new ApiError(
        `Not a JSON answer from ${path}: ${reason}`,
        500,
        'not_json'
      );
    }
  }

  private async _send(url: string, init: RequestInit): Promise<Response> {
    let response: Response;
    try {
      response = await this._fetch(url, init);
    } catch (error) {
      if ((error as Error)?.name === 'AbortError') {
        throw error;
      }
      throw new ApiError(
        `The server cannot be reached: ${error}`,
        0,
        'unreachable'
      );
    }
    if (!response.ok) {
      const { message, code } = await errorOf(response);
      throw new ApiError(message, response.status, code);
    }
    return response;
  }

  private _fetch: Fetcher;
}

/**
 * The value of the `_xsrf` cookie, or null when there is none (or the cookies
 * cannot be read, e.g. in a sandboxed frame).
 */
function xsrfCookie(): string | null {
  let cookie = '';
  try {
    cookie = typeof document === 'undefined' ? '' : document.cookie;
  } catch {
    // a SecurityError in a CSP sandbox: no cookie to add
  }
  const match = cookie.match(/(?:^|;\s*)_xsrf=([^;]*)/);
  return match && match[1] ? match[1] : null;
}

/**
 * The message and code of an error answer: its JSON `message` and `code`, or
 * its text, or its status; a 404 of the API root means the server extension
 * is missing (code `extension_missing`).
 */
async function errorOf(
  response: Response
): Promise<{ message: string; code: string }> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // keep the status alone
  }
  try {
    const data = JSON.parse(text);
    if (data && typeof data.message === 'string' && data.message) {
      return {
        message: data.message,
        code: typeof data.code === 'string' ? data.code : ''
      };
    }
  } catch {
    // not JSON
  }
  if (response.status === 404 && text.includes('<html')) {
    return {
      message: 'The momo-jobs server extension is not running on this server.',
      code: 'extension_missing'
    };
  }
  return {
    message:
      text && text.length < 300
        ? text
        : `${response.status} ${response.statusText}`.trim(),
    code: ''
  };
}

export namespace JobsClient {
  export interface IOptions {
    serverSettings?: ServerConnection.ISettings;
    /** Replaces the transport (tests). */
    fetcher?: Fetcher;
  }
}
