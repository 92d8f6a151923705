/**
 * The header of a job view (status, resource, times, exit code, reason,
 * actions) and the list of its results.
 */
import { consoleIcon, refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { IJob, IResults, isFinal } from '../api';
import { formatBytes, formatDate, formatDuration, joinArgs } from '../format';
import { trans } from '../i18n';
import {
  IconButton,
  IJobActions,
  JobLifeButtons,
  resourceText,
  StatusBadge,
  timeText,
  useNow
} from './common';

export function JobHeader(props: {
  job: IJob | null;
  jobId: string;
  gone: boolean;
  error: string | null;
  actions: IJobActions;
}): JSX.Element {
  const { job, actions } = props;
  const now = useNow(!!job && !isFinal(job.status));
  if (!job) {
    return (
      <header className="jp-MomoJobs-jobHeader">
        <h2 className="jp-MomoJobs-jobName">{props.jobId}</h2>
        {props.error ? (
          <div className="jp-MomoJobs-error" role="alert">
            {props.error}
          </div>
        ) : (
          <div className="jp-MomoJobs-empty">{trans.__('Loading…')}</div>
        )}
      </header>
    );
  }
  const facts: [string, string][] = [
    [trans.__('Resource'), resourceText(job)],
    [trans.__('Script'), job.script],
    [trans.__('Created'), formatDate(job.created_at)],
    [trans.__('Started'), formatDate(job.started_at)],
    [trans.__('Finished'), formatDate(job.finished_at)],
    [trans.__('Duration'), timeText(job, now) || '—']
  ];
  if (job.args && job.args.length) {
    facts.push([trans.__('Arguments'), joinArgs(job.args)]);
  }
  if (job.kernel) {
    facts.push([trans.__('Kernel'), job.kernel]);
  }
  if (job.exit_code !== null && job.exit_code !== undefined) {
    facts.push([trans.__('Exit code'), String(job.exit_code)]);
  }
  if (job.time_limit) {
    facts.push([
      trans.__('Time limit'),
      formatDuration(job.time_limit) +
        (job.time_limit_signal ? ` (${job.time_limit_signal})` : '')
    ]);
  }
  if (job.retries) {
    facts.push([
      trans.__('Attempt'),
      trans.__('%1 of %2', job.attempt ?? 1, job.retries + 1)
    ]);
  }
  for (const a of job.attempts ?? []) {
    if (a.attempt < (job.attempt ?? 1)) {
      facts.push([trans.__('Attempt %1', a.attempt), a.reason ?? '']);
    }
  }
  if (job.sweep_id) {
    facts.push([trans.__('Sweep'), job.sweep_id]);
  }
  return (
    <header className="jp-MomoJobs-jobHeader" data-status={job.status}>
      <div className="jp-MomoJobs-jobTitle">
        <h2 className="jp-MomoJobs-jobName">{job.name}</h2>
        <StatusBadge job={job} />
        <span className="jp-MomoJobs-actions">
          {job.resource === 'console' && (
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept jp-MomoJobs-button"
              disabled={
                !job.kernel_id ||
                (job.status !== 'running' && job.status !== 'completed')
              }
              onClick={() => actions.openConsole(job)}
              title={trans.__("Attach a console to the job's kernel")}
            >
              <consoleIcon.react tag="span" elementSize="normal" />{' '}
              {trans.__('Open console')}
            </button>
          )}
          <JobLifeButtons job={job} actions={actions} />
        </span>
      </div>
      {props.gone && (
        <div className="jp-MomoJobs-error" role="alert">
          {trans.__('This job was deleted.')}
        </div>
      )}
      {job.reason && (
        <div
          className={
            job.status === 'failed' ? 'jp-MomoJobs-error' : 'jp-MomoJobs-reason'
          }
          role={job.status === 'failed' ? 'alert' : undefined}
        >
          {job.reason}
        </div>
      )}
      <dl className="jp-MomoJobs-facts">
        {facts.map(([k, v]) => (
          <div key={k} className="jp-MomoJobs-fact">
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
    </header>
  );
}

export function ResultsList(props: {
  results: IResults | null;
  job: IJob | null;
  actions: IJobActions;
  onRefresh: () => void;
}): JSX.Element {
  const { results, actions } = props;
  const dir = results?.dir ?? props.job?.results_dir ?? 'results';
  return (
    <section className="jp-MomoJobs-results" aria-label={trans.__('Results')}>
      <div className="jp-MomoJobs-sectionTitle">
        <h3>{trans.__('Results')}</h3>
        <IconButton
          icon={refreshIcon}
          label={trans.__('Refresh the results')}
          onClick={props.onRefresh}
        />
        <button
          type="button"
          className="jp-MomoJobs-linkButton"
          onClick={() => actions.openFile(dir)}
          title={trans.__('Show %1/ in the file browser', dir)}
        >
          {trans.__('Show folder')}
        </button>
      </div>
      {!results || !results.files.length ? (
        <div className="jp-MomoJobs-empty">
          {trans.__('Files the job writes under results/ appear here.')}
        </div>
      ) : (
        <ul className="jp-MomoJobs-files">
          {results.files.map(f => (
            <li key={f.path}>
              <button
                type="button"
                className="jp-MomoJobs-linkButton"
                onClick={() => actions.openFile(f.path)}
                title={trans.__('Open %1', f.path)}
              >
                {f.path.startsWith(dir + '/')
                  ? f.path.slice(dir.length + 1)
                  : f.path}
              </button>
              <span className="jp-MomoJobs-size">{formatBytes(f.size)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
