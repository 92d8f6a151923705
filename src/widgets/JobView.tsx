/**
 * The view of one job in the main area: header, live log, metrics, results.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { Panel, SplitPanel } from '@lumino/widgets';
import * as React from 'react';

import { IJobActions, statusName } from '../components/common';
import { JobHeader, ResultsList } from '../components/JobDetails';
import { MetricsPanel } from '../components/MetricsPanel';
import { trans } from '../i18n';
import { jobsIcon } from '../icons';
import { JobViewModel } from '../model';
import { LogView } from './LogView';

export interface IJobViewOptions {
  model: JobViewModel;
  actions: IJobActions;
  downloadCsv: (jobId: string) => void;
}

/**
 * A column (CSS flex): the header takes its height, the split panel the rest.
 */
export class JobView extends Panel {
  constructor(options: IJobViewOptions) {
    super();
    const { model, actions } = options;
    this.model = model;
    this.id = `momo-job-${model.jobId}`;
    this.addClass('jp-MomoJobs-jobView');
    this.title.icon = jobsIcon;
    this.title.closable = true;
    this._setTitle();
    model.changed.connect(this._setTitle, this);

    const header = ReactWidget.create(
      <UseSignal signal={model.changed}>
        {() => (
          <JobHeader
            job={model.job}
            jobId={model.jobId}
            gone={model.gone}
            error={model.error}
            actions={actions}
          />
        )}
      </UseSignal>
    );
    header.addClass('jp-MomoJobs-jobHeaderWidget');

    const log = new LogView({
      follower: model.log,
      downloadUrl: model.jobs.client.downloadUrl(
        `jobs/${encodeURIComponent(model.jobId)}/log`,
        { format: 'raw' }
      )
    });
    this.log = log;
    const side = new Panel();
    side.addClass('jp-MomoJobs-side');
    const metrics = ReactWidget.create(
      <UseSignal signal={model.changed}>
        {() => (
          <UseSignal signal={model.metrics.changed}>
            {() => (
              <MetricsPanel
                model={model.metrics}
                onDownloadCsv={() => options.downloadCsv(model.jobId)}
                telemetryNote={model.job?.telemetry_note}
              />
            )}
          </UseSignal>
        )}
      </UseSignal>
    );
    const results = ReactWidget.create(
      <UseSignal signal={model.changed}>
        {() => (
          <ResultsList
            results={model.results}
            job={model.job}
            actions={actions}
            onRefresh={() => void model.refreshResults()}
          />
        )}
      </UseSignal>
    );
    side.addWidget(metrics);
    side.addWidget(results);

    const split = new SplitPanel({ orientation: 'horizontal', spacing: 4 });
    split.addClass('jp-MomoJobs-split');
    split.addWidget(log);
    split.addWidget(side);
    split.setRelativeSizes([1, 1]);

    this.addWidget(header);
    this.addWidget(split);
  }

  readonly model: JobViewModel;
  readonly log: LogView;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  private _setTitle(): void {
    const job = this.model.job;
    this.title.label = job ? job.name : this.model.jobId;
    this.title.caption = job
      ? trans.__('%1 (%2) — %3', job.name, statusName(job.status), job.script)
      : this.model.jobId;
    this.title.className = job ? `jp-MomoJobs-tab-${job.status}` : '';
  }
}
