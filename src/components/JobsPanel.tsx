/**
 * The Jobs sidebar: every job with its status, resource and time, actions,
 * and a status filter.
 */
import {
  launchIcon,
  refreshIcon,
  tableRowsIcon
} from '@jupyterlab/ui-components';
import * as React from 'react';

import {
  ACTIVE_STATUSES,
  FINAL_STATUSES,
  IJob,
  isFinal,
  JOB_STATUSES,
  JobStatus
} from '../api';
import { formatNumber } from '../format';
import { trans } from '../i18n';
import { JobsModel } from '../model';
import { ClickMode, clickMode } from '../selection';
import {
  IconButton,
  IJobActions,
  JobLifeButtons,
  resourceText,
  StatusBadge,
  statusName,
  timeText,
  useNow
} from './common';
import { GpuHolders } from './GpuHolders';

interface IFilter {
  label: () => string;
  statuses: ReadonlyArray<JobStatus>;
}

const FINAL_LABELS: { [status: string]: () => string } = {
  completed: () => trans.__('Completed'),
  failed: () => trans.__('Failed'),
  stopped: () => trans.__('Stopped')
};

const FILTERS: IFilter[] = [
  { label: () => trans.__('All jobs'), statuses: [] },
  {
    label: () => trans.__('Active (queued, running)'),
    statuses: JOB_STATUSES.filter(status => !isFinal(status))
  },
  { label: () => trans.__('Queued'), statuses: ['queued'] },
  { label: () => trans.__('Running'), statuses: ACTIVE_STATUSES },
  ...FINAL_STATUSES.map(status => ({
    label: FINAL_LABELS[status] ?? (() => status),
    statuses: [status]
  }))
];

interface IRowProps {
  job: IJob;
  selected: boolean;
  /** The job clicked last: scrolled into view. */
  current: boolean;
  now: number;
  actions: IJobActions;
  onSelect: (id: string, mode: ClickMode) => void;
}

const JobRow = React.memo(function JobRow(props: IRowProps): JSX.Element {
  const { job, actions } = props;
  const ref = React.useRef<HTMLLIElement>(null);
  React.useEffect(() => {
    if (props.current) {
      ref.current?.scrollIntoView?.({ block: 'nearest' });
    }
  }, [props.current]);
  return (
    <li
      ref={ref}
      className={`jp-MomoJobs-row${props.selected ? ' jp-mod-selected' : ''}`}
      data-job-id={job.id}
      data-status={job.status}
      tabIndex={0}
      aria-label={trans.__('%1, %2', job.name, statusName(job.status))}
      aria-selected={props.selected}
      onMouseDown={e => {
        if (e.shiftKey) {
          e.preventDefault(); // no text selection on shift-click
        }
      }}
      onClick={e => props.onSelect(job.id, clickMode(e))}
      onDoubleClick={() => actions.open(job.id)}
      onKeyDown={e => {
        if (e.key === 'Enter') {
          actions.open(job.id);
        }
      }}
    >
      <div className="jp-MomoJobs-rowMain">
        <span className="jp-MomoJobs-name" title={job.script}>
          {job.name}
        </span>
        <span className="jp-MomoJobs-actions">
          <IconButton
            icon={launchIcon}
            label={trans.__('Open job %1', job.name)}
            onClick={() => actions.open(job.id)}
          />
          <JobLifeButtons job={job} actions={actions} />
        </span>
      </div>
      <div className="jp-MomoJobs-rowInfo">
        <StatusBadge job={job} />
        <span className="jp-MomoJobs-resource">{resourceText(job)}</span>
        <span className="jp-MomoJobs-time">{timeText(job, props.now)}</span>
      </div>
      {job.status === 'queued' && job.reason && (
        <div className="jp-MomoJobs-rowReason">{job.reason}</div>
      )}
    </li>
  );
});

export interface IJobsPanelProps {
  model: JobsModel;
  actions: IJobActions;
}

export function JobsPanel(props: IJobsPanelProps): JSX.Element {
  const { model, actions } = props;
  const jobs = model.jobs;
  const counts = model.counts;
  const ticking = jobs.some(j => !isFinal(j.status));
  const now = useNow(ticking);
  const filterIndex = Math.max(
    0,
    FILTERS.findIndex(f => f.statuses.join(',') === model.filter.join(','))
  );
  const onSelect = React.useCallback(
    (id: string, mode: ClickMode) => {
      model.selection.click(
        id,
        mode,
        model.jobs.map(job => job.id)
      );
    },
    [model]
  );
  const selectedCount = model.selection.size;
  let body: JSX.Element;
  if (model.state === 'loading') {
    body = <div className="jp-MomoJobs-empty">{trans.__('Loading jobs…')}</div>;
  } else if (model.state === 'error' && !model.allJobs.length) {
    body = (
      <div className="jp-MomoJobs-error" role="alert">
        <p>{trans.__('The jobs cannot be loaded: %1', model.error ?? '')}</p>
        <p>
          {trans.__(
            'Is the momo_jobs server extension installed and enabled? (jupyter server extension list)'
          )}
        </p>
      </div>
    );
  } else if (!jobs.length) {
    body = (
      <div className="jp-MomoJobs-empty">
        {model.allJobs.length
          ? trans.__('No job matches this filter.')
          : trans.__(
              'No jobs yet. Open a notebook or a .py file and use “Create Job” in its toolbar or the file browser’s context menu.'
            )}
      </div>
    );
  } else {
    body = (
      <ul className="jp-MomoJobs-list" aria-label={trans.__('Jobs')}>
        {jobs.map(job => (
          <JobRow
            key={job.id}
            job={job}
            selected={model.selection.has(job.id)}
            current={job.id === model.selected}
            now={isFinal(job.status) ? 0 : now}
            actions={actions}
            onSelect={onSelect}
          />
        ))}
      </ul>
    );
  }
  return (
    <div className="jp-MomoJobs-panel">
      <header className="jp-MomoJobs-panelHeader">
        <h2 className="jp-MomoJobs-title">{trans.__('Jobs')}</h2>
        <span className="jp-MomoJobs-headerButtons">
          {actions.openRuns && (
            <IconButton
              icon={tableRowsIcon}
              label={trans.__('Open the Runs view: compare jobs')}
              className="jp-MomoJobs-openRuns"
              onClick={() => actions.openRuns!()}
            />
          )}
          <IconButton
            icon={refreshIcon}
            label={trans.__('Refresh the jobs')}
            onClick={() => {
              void model.refresh();
              void model.refreshResources();
            }}
          />
        </span>
      </header>
      {model.resources && (
        <GpuHolders
          gpus={model.resources.gpus}
          now={now}
          jobs={id => model.get(id)}
        />
      )}
      {selectedCount > 1 && (
        <div className="jp-MomoJobs-selectionBar">
          <span>{trans.__('%1 selected', selectedCount)}</span>
          {actions.openRuns && (
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept jp-MomoJobs-compare"
              onClick={() => actions.openRuns!()}
            >
              {trans.__('Compare')}
            </button>
          )}
          <button
            type="button"
            className="jp-MomoJobs-linkButton"
            onClick={() => model.selection.set([])}
          >
            {trans.__('Clear')}
          </button>
        </div>
      )}
      <div className="jp-MomoJobs-filter">
        <select
          className="jp-mod-styled"
          aria-label={trans.__('Show jobs by status')}
          value={filterIndex}
          onChange={e => {
            model.filter = FILTERS[parseInt(e.target.value, 10)].statuses;
          }}
        >
          {FILTERS.map((f, i) => (
            <option key={i} value={i}>
              {f.statuses.length
                ? trans.__(
                    '%1 (%2)',
                    f.label(),
                    formatNumber(
                      f.statuses.reduce((n, st) => n + (counts[st] ?? 0), 0)
                    )
                  )
                : f.label()}
            </option>
          ))}
        </select>
        <span className="jp-MomoJobs-count">
          {model.total > model.allJobs.length
            ? trans.__(
                '%1 of %2',
                formatNumber(jobs.length),
                formatNumber(model.total)
              )
            : formatNumber(jobs.length)}
        </span>
      </div>
      {model.state === 'error' && model.allJobs.length > 0 && (
        <div className="jp-MomoJobs-error" role="alert">
          {model.error}
        </div>
      )}
      {body}
    </div>
  );
}
