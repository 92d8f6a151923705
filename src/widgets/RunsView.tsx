/**
 * The Runs view in the main area: the runs table above, the overlay of the
 * selected runs' metrics below.
 */
import { ReactWidget, UseSignal } from '@jupyterlab/apputils';
import { tableRowsIcon } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { SplitPanel } from '@lumino/widgets';
import * as React from 'react';

import { IJobActions } from '../components/common';
import { OverlayPanel } from '../components/OverlayPanel';
import { RunsPanel } from '../components/RunsPanel';
import { trans } from '../i18n';
import { CompareModel, RunsModel } from '../runsmodel';

export class RunsView extends SplitPanel {
  constructor(options: { model: RunsModel; actions: IJobActions }) {
    super({ orientation: 'vertical', spacing: 4 });
    const { model, actions } = options;
    this.model = model;
    this.compare = new CompareModel({ runs: model });
    this.id = 'momo-jobs-runs';
    this.addClass('jp-MomoRuns-view');
    this.title.icon = tableRowsIcon;
    this.title.label = trans.__('Runs');
    this.title.caption = trans.__(
      'Every job as a run: compare their params and metrics'
    );
    this.title.closable = true;

    const table = ReactWidget.create(
      <UseSignal signal={model.changed}>
        {() => <RunsPanel model={model} actions={actions} />}
      </UseSignal>
    );
    table.addClass('jp-MomoRuns-tableWidget');
    const charts = ReactWidget.create(
      <UseSignal signal={this.compare.changed}>
        {() => <OverlayPanel model={this.compare} />}
      </UseSignal>
    );
    charts.addClass('jp-MomoRuns-chartsWidget');
    this.addWidget(table);
    this.addWidget(charts);
    this.setRelativeSizes([1, 1]);
  }

  readonly model: RunsModel;
  readonly compare: CompareModel;

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.compare.dispose();
    this.model.dispose();
    super.dispose();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.active = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.active = false;
  }
}
