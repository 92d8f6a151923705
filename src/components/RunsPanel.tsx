/**
 * The Runs view's table with its tools: the filter, the columns to show,
 * grouping by sweep, and what is selected.
 */
import { refreshIcon } from '@jupyterlab/ui-components';
import * as React from 'react';

import { trans } from '../i18n';
import { RunsModel } from '../runsmodel';
import { Check, IconButton, IJobActions } from './common';
import { RunsTable } from './RunsTable';

function ColumnChooser(props: { model: RunsModel }): JSX.Element {
  const { model } = props;
  return (
    <details className="jp-MomoRuns-columns">
      <summary className="jp-mod-styled">{trans.__('Columns')}</summary>
      <div
        className="jp-MomoRuns-columnList"
        role="group"
        aria-label={trans.__('Columns shown')}
      >
        {model.columns.map(column => (
          <Check
            key={column.key}
            title={column.title}
            checked={model.isVisible(column)}
            onChange={checked => model.setVisible(column.key, checked)}
          >
            {column.label}
          </Check>
        ))}
      </div>
    </details>
  );
}

export function RunsPanel(props: {
  model: RunsModel;
  actions: IJobActions;
  initialHeight?: number;
}): JSX.Element {
  const { model } = props;
  const id = React.useId();
  const shown = model.filteredRuns.length;
  const selected = model.selection.size;
  let body: JSX.Element;
  if (model.state === 'loading') {
    body = <div className="jp-MomoJobs-empty">{trans.__('Loading runs…')}</div>;
  } else if (model.state === 'error' && !model.total) {
    body = (
      <div className="jp-MomoJobs-error" role="alert">
        {trans.__('The runs cannot be loaded: %1', model.error ?? '')}
      </div>
    );
  } else if (!model.total) {
    body = (
      <div className="jp-MomoJobs-empty">
        {trans.__(
          'No runs yet: each job is a run. Create a job from a notebook or a script.'
        )}
      </div>
    );
  } else {
    body = (
      <RunsTable
        model={model}
        actions={props.actions}
        initialHeight={props.initialHeight}
      />
    );
  }
  return (
    <div className="jp-MomoRuns-panel">
      <div className="jp-MomoRuns-toolbar">
        <label htmlFor={`${id}-filter`} className="jp-MomoRuns-filterLabel">
          {trans.__('Filter')}
        </label>
        <input
          id={`${id}-filter`}
          className="jp-mod-styled jp-MomoRuns-filter"
          type="search"
          value={model.filter}
          placeholder={trans.__('name, lr=0.01, loss<0.3, status:running')}
          title={trans.__(
            'Words all must match: any text (name, status, sweep, param values), param=value, metric<value (its best value), metric.last<value, status:running'
          )}
          onChange={e => {
            model.filter = e.target.value;
          }}
        />
        <Check
          checked={model.groupBySweep}
          onChange={checked => {
            model.groupBySweep = checked;
          }}
        >
          {trans.__('Group sweeps')}
        </Check>
        <ColumnChooser model={model} />
        <span className="jp-MomoJobs-count" aria-live="polite">
          {shown === model.total
            ? trans._n('%1 run', '%1 runs', shown)
            : trans.__('%1 of %2 runs', shown, model.total)}
          {selected ? ` · ${trans.__('%1 selected', selected)}` : ''}
        </span>
        {selected > 0 && (
          <button
            type="button"
            className="jp-MomoJobs-linkButton"
            onClick={() => model.selection.set([])}
          >
            {trans.__('Clear selection')}
          </button>
        )}
        <IconButton
          icon={refreshIcon}
          label={trans.__('Refresh the runs')}
          onClick={() => void model.refresh()}
        />
      </div>
      {model.state === 'error' && model.total > 0 && (
        <div className="jp-MomoJobs-error" role="alert">
          {model.error}
        </div>
      )}
      {body}
    </div>
  );
}
