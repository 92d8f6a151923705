/**
 * The command that opens the Runs view (`momo-jobs:open-runs`): from the
 * sidebar's button, the command palette, or other extensions, with an
 * optional sweep to show or runs to select.
 */
import { MainAreaWidget, WidgetTracker } from '@jupyterlab/apputils';
import { tableRowsIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { CommandIDs, ICommandContext, jobActions } from './commands';
import { trans } from './i18n';
import { RunsModel } from './runsmodel';
import { RunsView } from './widgets/RunsView';

export type RunsTracker = WidgetTracker<MainAreaWidget<RunsView>>;

/**
 * Open (or reveal) the Runs view. `sweep`: show that sweep's runs, grouped
 * and selected; `ids`: select these runs.
 */
export async function openRuns(
  ctx: ICommandContext,
  tracker: RunsTracker,
  args: ReadonlyPartialJSONObject
): Promise<RunsView> {
  let widget = tracker.currentWidget ?? tracker.find(() => true);
  if (!widget || widget.isDisposed) {
    const model = new RunsModel({ jobs: ctx.model });
    const content = new RunsView({ model, actions: jobActions(ctx) });
    widget = new MainAreaWidget({ content });
    widget.id = 'momo-jobs-runs-view';
    widget.addClass('jp-MomoRuns-widget');
    void tracker.add(widget);
    ctx.app.shell.add(widget, 'main', { activate: args.activate !== false });
    void model.refresh();
  } else if (args.activate !== false) {
    ctx.app.shell.activateById(widget.id);
  }
  const view = widget.content;
  if (typeof args.sweep === 'string' && args.sweep) {
    await view.model.showSweep(args.sweep);
  }
  if (Array.isArray(args.ids)) {
    view.model.selection.set(
      args.ids.filter(id => typeof id === 'string') as string[]
    );
  }
  return view;
}

export function addRunsCommands(
  ctx: ICommandContext,
  tracker: RunsTracker
): void {
  ctx.app.commands.addCommand(CommandIDs.openRuns, {
    label: args =>
      args.isPalette
        ? trans.__('Open the Runs view (compare jobs)')
        : trans.__('Runs'),
    caption: trans.__(
      'Every job as a row: params, metrics and peaks; sort, filter, and chart the selected runs together'
    ),
    icon: tableRowsIcon,
    execute: args => openRuns(ctx, tracker, args)
  });
}
