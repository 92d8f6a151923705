/**
 * momo-jobs frontend: wiring only. The API client, models, views, widgets
 * and commands live in their own modules.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  IToolbarWidgetRegistry,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { DocumentWidget } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { INotebookTracker } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator } from '@jupyterlab/translation';
import { CommandToolbarButton } from '@jupyterlab/ui-components';

import { EVENT_SCHEMA, JobsClient } from './api';
import {
  addCommands,
  CommandIDs,
  ICommandContext,
  jobActions,
  notifyFinished
} from './commands';
import { setTranslator, trans } from './i18n';
import { createJobIcon, exportIcon } from './icons';
import { JobsModel, parseJobEvent, RESOURCES_MS } from './model';
import { addRunsCommands, RunsTracker } from './runscommands';
import { JobsSidebar } from './widgets/JobsSidebar';
import { JobView } from './widgets/JobView';

const PLUGIN_ID = 'momo-jobs:plugin';

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Run notebooks and scripts as background jobs on CPU or GPU.',
  autoStart: true,
  optional: [
    ILayoutRestorer,
    ISettingRegistry,
    ICommandPalette,
    ILauncher,
    INotebookTracker,
    IDefaultFileBrowser,
    ITranslator,
    IToolbarWidgetRegistry
  ],
  activate: (
    app: JupyterFrontEnd,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    notebooks: INotebookTracker | null,
    fileBrowser: IDefaultFileBrowser | null,
    translator: ITranslator | null,
    toolbarRegistry: IToolbarWidgetRegistry | null
  ) => {
    setTranslator(translator);
    const client = new JobsClient({
      serverSettings: app.serviceManager.serverSettings
    });
    const model = new JobsModel({ client, resourcesMs: RESOURCES_MS });
    const tracker = new WidgetTracker<MainAreaWidget<JobView>>({
      namespace: 'momo-jobs-job'
    });
    const ctx: ICommandContext = {
      app,
      model,
      notebooks,
      fileBrowser,
      tracker
    };

    const sidebar = new JobsSidebar(model, jobActions(ctx));
    app.shell.add(sidebar, 'left', { rank: 650 });
    addCommands(ctx, sidebar);
    const runsTracker: RunsTracker = new WidgetTracker({
      namespace: 'momo-jobs-runs'
    });
    addRunsCommands(ctx, runsTracker);

    // live updates pushed by the server; a slow full refresh as a safety net
    app.serviceManager.events.stream.connect((_, emission) => {
      if (emission.schema_id === EVENT_SCHEMA) {
        const event = parseJobEvent(emission);
        if (event) {
          model.handleEvent(event);
        }
      }
    });
    let notify = true;
    model.finished.connect((_, job) => {
      if (notify) {
        notifyFinished(ctx, job);
      }
    });
    void model.start();

    if (settingRegistry) {
      void settingRegistry.load(PLUGIN_ID).then(settings => {
        const apply = () => {
          notify = settings.get('notifications').composite !== false;
          const seconds = settings.get('refreshSeconds').composite as number;
          model.refreshMs = Math.max(0, seconds ?? 30) * 1000;
        };
        apply();
        settings.changed.connect(apply);
      });
    }

    if (restorer) {
      restorer.add(sidebar, 'momo-jobs-sidebar');
      void restorer.restore(tracker, {
        command: CommandIDs.openJob,
        args: widget => ({ id: widget.content.model.jobId, activate: false }),
        name: widget => widget.content.model.jobId
      });
      void restorer.restore(runsTracker, {
        command: CommandIDs.openRuns,
        args: () => ({ activate: false }),
        name: () => 'runs'
      });
    }

    if (toolbarRegistry) {
      addToolbarButtons(app, toolbarRegistry);
    }

    if (palette) {
      const category = trans.__('Jobs');
      for (const command of [
        CommandIDs.createJob,
        CommandIDs.exportScript,
        CommandIDs.showJobs,
        CommandIDs.openRuns,
        CommandIDs.mnistTutorial
      ]) {
        palette.addItem({ command, category, args: { isPalette: true } });
      }
    }

    if (launcher) {
      launcher.add({
        command: CommandIDs.mnistTutorial,
        category: 'Other',
        rank: 10
      });
    }
  }
};

/**
 * The toolbar buttons of schema/plugin.json, made here so that their labels
 * are in the UI's language and each acts on its own document: Create Job
 * above a notebook and above a Python file's editor, Export above a notebook.
 */
function addToolbarButtons(
  app: JupyterFrontEnd,
  registry: IToolbarWidgetRegistry
): void {
  const button = (
    widget: DocumentWidget,
    id: string,
    label: string,
    caption: string,
    icon: typeof createJobIcon,
    fits: (path: string) => boolean
  ) => {
    // no path in the arguments: the command acts on the current document,
    // which is this one when its toolbar is clicked, renamed or not
    const item = new CommandToolbarButton({
      commands: app.commands,
      id,
      label,
      caption,
      icon
    });
    const follow = () => item.setHidden(!fits(widget.context.path));
    follow();
    widget.context.pathChanged.connect(follow);
    return item;
  };
  const isPython = (path: string) => path.toLowerCase().endsWith('.py');
  const isNotebook = (path: string) => path.toLowerCase().endsWith('.ipynb');
  const createJob = (fits: (path: string) => boolean) => (widget: any) =>
    button(
      widget,
      CommandIDs.createJob,
      trans.__('Create Job'),
      trans.__(
        'Run this notebook or script as a background job on a GPU, a CPU or a console kernel'
      ),
      createJobIcon,
      fits
    );
  registry.addFactory('Editor', 'momo-create-job', createJob(isPython));
  registry.addFactory('Notebook', 'momo-create-job', createJob(isNotebook));
  registry.addFactory('Notebook', 'momo-export', (widget: any) =>
    button(
      widget,
      CommandIDs.exportScript,
      trans.__('Export to .py'),
      trans.__(
        'Save the notebook and export its code to a .py script beside it'
      ),
      exportIcon,
      isNotebook
    )
  );
}

export default plugin;
