/**
 * The Jobs sidebar widget (left area).
 */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import * as React from 'react';

import { IJobActions } from '../components/common';
import { JobsPanel } from '../components/JobsPanel';
import { trans } from '../i18n';
import { jobsIcon } from '../icons';
import { JobsModel } from '../model';

export class JobsSidebar extends ReactWidget {
  constructor(
    readonly model: JobsModel,
    private _actions: IJobActions
  ) {
    super();
    this.id = 'momo-jobs-sidebar';
    this.addClass('jp-MomoJobs-sidebar');
    this.title.icon = jobsIcon;
    this.title.caption = trans.__('Jobs');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', trans.__('Jobs'));
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <JobsPanel model={this.model} actions={this._actions} />}
      </UseSignal>
    );
  }
}
