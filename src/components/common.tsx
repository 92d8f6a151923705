/**
 * Small pieces shared by the views: icon buttons, status labels, the clock.
 */
import {
  deleteIcon,
  LabIcon,
  refreshIcon,
  stopIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJob, isFinal, JobStatus } from '../api';
import {
  formatDuration,
  formatNumber,
  jobDuration,
  jobTimeLeft,
  jobWaited
} from '../format';
import { trans } from '../i18n';
import { statusIcon } from '../icons';

/**
 * What the views can ask for; `index.ts` implements it with commands.
 */
export interface IJobActions {
  open(id: string): void;
  stop(id: string): void;
  rerun(id: string): void;
  remove(id: string): void;
  openConsole(job: IJob): void;
  openFile(path: string): void;
  /** Open the Runs view (which overlays the selected jobs). */
  openRuns?(): void;
}

/** A checkbox with its label, as the chart and table options show them. */
export function Check(props: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  title?: string;
  children: React.ReactNode;
}): JSX.Element {
  return (
    <label className="jp-MomoJobs-check" title={props.title}>
      <input
        type="checkbox"
        checked={props.checked}
        onChange={e => props.onChange(e.target.checked)}
      />
      {props.children}
    </label>
  );
}

export function IconButton(props: {
  icon: LabIcon;
  label: string;
  onClick: () => void;
  disabled?: boolean;
  className?: string;
}): JSX.Element {
  return (
    <button
      type="button"
      className={`jp-MomoJobs-iconButton ${props.className ?? ''}`}
      aria-label={props.label}
      title={props.label}
      disabled={props.disabled}
      onClick={e => {
        e.stopPropagation();
        props.onClick();
      }}
    >
      <props.icon.react tag="span" elementSize="normal" />
    </button>
  );
}

/**
 * The status of a job in words: "queued #2", "running", ...
 */
export function statusText(job: IJob): string {
  const attempt = job.attempt ?? 1;
  const of =
    attempt > 1
      ? ' ' + trans.__('(attempt %1/%2)', attempt, (job.retries ?? 0) + 1)
      : '';
  if (job.status === 'queued' && job.queue_position) {
    return trans.__('queued #%1', formatNumber(job.queue_position)) + of;
  }
  if (job.status === 'failed' && job.exit_code !== null) {
    return trans.__('failed (exit %1)', job.exit_code) + of;
  }
  return statusName(job.status) + of;
}

/**
 * A status in the UI's words: 排队中, 运行中, 运行失败, …
 */
export function statusName(status: JobStatus): string {
  switch (status) {
    case 'queued':
      return trans.__('queued');
    case 'running':
      return trans.__('running');
    case 'stopping':
      return trans.__('stopping');
    case 'completed':
      return trans.__('completed');
    case 'failed':
      return trans.__('failed');
    case 'stopped':
      return trans.__('stopped');
    default:
      return status;
  }
}

/**
 * The resource of a job in words: "GPU 0,1", "GPU ×2", "CPU", "console".
 */
export function resourceText(job: IJob): string {
  if (job.resource === 'gpu') {
    if (job.gpu_ids && job.gpu_ids.length) {
      return trans.__('GPU %1', job.gpu_ids.join(','));
    }
    return job.gpus > 1 ? trans.__('GPU ×%1', job.gpus) : trans.__('GPU');
  }
  return job.resource === 'cpu' ? trans.__('CPU') : trans.__('console');
}

/**
 * Elapsed (running), total (finished) or waited (queued) time.
 */
export function timeText(job: IJob, now: number): string {
  if (job.status === 'queued') {
    const waited = jobWaited(job, now);
    return waited === null
      ? ''
      : trans.__('waiting %1', formatDuration(waited));
  }
  const d = jobDuration(job, now);
  const left = jobTimeLeft(job, now);
  if (d !== null && left !== null) {
    return trans.__('%1 · %2 left', formatDuration(d), formatDuration(left));
  }
  return d === null ? '' : formatDuration(d);
}

export function StatusBadge(props: { job: IJob }): JSX.Element {
  const Icon = statusIcon(props.job.status);
  return (
    <span
      className={`jp-MomoJobs-status jp-MomoJobs-status-${props.job.status}`}
      data-status={props.job.status}
    >
      <Icon.react tag="span" elementSize="normal" aria-hidden="true" />
      <span className="jp-MomoJobs-statusText">{statusText(props.job)}</span>
    </span>
  );
}

/**
 * The current time, ticking every second while `active`.
 */
export function useNow(active: boolean): number {
  const [now, setNow] = React.useState(Date.now());
  React.useEffect(() => {
    if (!active) {
      return;
    }
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [active]);
  return active ? now : Date.now();
}

/**
 * Stop (while queued or running), or rerun and delete (once ended).
 */
export function JobLifeButtons(props: {
  job: IJob;
  actions: IJobActions;
}): JSX.Element {
  const { job, actions } = props;
  if (!isFinal(job.status)) {
    return (
      <IconButton
        icon={stopIcon}
        label={trans.__('Stop job %1', job.name)}
        className="jp-MomoJobs-stop"
        disabled={job.status === 'stopping'}
        onClick={() => actions.stop(job.id)}
      />
    );
  }
  return (
    <>
      <IconButton
        icon={refreshIcon}
        label={trans.__('Rerun job %1', job.name)}
        className="jp-MomoJobs-rerun"
        onClick={() => actions.rerun(job.id)}
      />
      <IconButton
        icon={deleteIcon}
        label={trans.__('Delete job %1', job.name)}
        className="jp-MomoJobs-delete"
        onClick={() => actions.remove(job.id)}
      />
    </>
  );
}
