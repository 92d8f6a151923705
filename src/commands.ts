/**
 * The commands of momo-jobs: what the toolbar, menus, palette, launcher and
 * other extensions call. Each one orchestrates models, dialogs and widgets.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  InputDialog,
  MainAreaWidget,
  Notification,
  showDialog,
  WidgetTracker
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { DocumentWidget } from '@jupyterlab/docregistry';
import { FileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { ApiError, IJob, isFinal, Resource } from './api';
import { errorText } from './errors';
import { IJobActions } from './components/common';
import { ICreateJobValue, IKernelChoice } from './components/CreateJobForm';
import {
  defaultJobName,
  formatDuration,
  jobDuration,
  parseDuration,
  parseGrid,
  splitArgs
} from './format';
import { trans, uiLanguage } from './i18n';
import { createJobIcon, exportIcon, jobsIcon, mnistIcon } from './icons';
import { JobsModel, JobViewModel } from './model';
import { CreateJobBody } from './widgets/CreateJobDialog';
import { JobsSidebar } from './widgets/JobsSidebar';
import { JobView } from './widgets/JobView';

export namespace CommandIDs {
  export const exportScript = 'momo-jobs:export';
  export const createJob = 'momo-jobs:create-job';
  export const showJobs = 'momo-jobs:show-jobs';
  export const openJob = 'momo-jobs:open-job';
  export const stopJob = 'momo-jobs:stop-job';
  export const rerunJob = 'momo-jobs:rerun-job';
  export const deleteJob = 'momo-jobs:delete-job';
  export const mnistTutorial = 'momo-jobs:mnist-tutorial';
  export const openRuns = 'momo-jobs:open-runs';
}

export interface ICommandContext {
  app: JupyterFrontEnd;
  model: JobsModel;
  notebooks: INotebookTracker | null;
  fileBrowser: FileBrowser | null;
  tracker: WidgetTracker<MainAreaWidget<JobView>>;
}

const SCRIPT_EXTENSIONS = ['.py', '.ipynb'];

/** Files a text editor cannot show: saved models, arrays, archives. */
const BINARY_EXTENSIONS = [
  '.keras',
  '.h5',
  '.hdf5',
  '.pt',
  '.pth',
  '.ckpt',
  '.onnx',
  '.safetensors',
  '.bin',
  '.npz',
  '.npy',
  '.pkl',
  '.pickle',
  '.joblib',
  '.zip',
  '.gz',
  '.tar'
];

function reportError(title: string, error: unknown): void {
  Notification.error(trans.__('%1: %2', title, errorText(error)), {
    autoClose: 10000
  });
}

/**
 * The warnings of a script, as a list for a dialog's body.
 */
function warningsBody(intro: string, warnings: string[]): HTMLElement {
  const body = document.createElement('div');
  body.className = 'jp-MomoJobs-warnings';
  const p = document.createElement('p');
  p.textContent = intro;
  const list = document.createElement('ul');
  for (const warning of warnings) {
    const item = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = warning;
    item.appendChild(code);
    list.appendChild(item);
  }
  body.append(p, list);
  return body;
}

/**
 * Tell that an exported script won't compile under Python 3, and where.
 */
function notifyExportWarnings(path: string, warnings: string[]): void {
  Notification.warning(
    trans.__(
      '%1 was exported, but Python 3 cannot compile parts of it: %2',
      path,
      warnings.join('; ')
    ),
    { autoClose: false }
  );
}

/**
 * Ask whether to queue a script that Python 3 can't compile.
 */
async function confirmWarnings(
  script: string,
  warnings: string[]
): Promise<boolean> {
  const answer = await showDialog({
    title: trans.__('This script may not run'),
    body: new Widget({
      node: warningsBody(
        trans.__(
          'Python 3 cannot compile parts of %1, so the job would probably fail at once:',
          script
        ),
        warnings
      )
    }),
    buttons: [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.warnButton({ label: trans.__('Submit anyway') })
    ]
  });
  return answer.button.accept;
}

/**
 * The notebook or script a command acts on, and its open panel if any.
 */
interface ITarget {
  path: string;
  panel: NotebookPanel | DocumentWidget | null;
}

function findTarget(
  ctx: ICommandContext,
  args: ReadonlyPartialJSONObject,
  extensions: string[]
): ITarget | null {
  const fits = (path: string) =>
    extensions.includes(PathExt.extname(path).toLowerCase());
  if (typeof args.path === 'string' && args.path) {
    const path = args.path;
    const panel = ctx.notebooks?.find(p => p.context.path === path) ?? null;
    return { path, panel: panel ?? findDocument(ctx, path) };
  }
  if (args.fromFileBrowser && ctx.fileBrowser) {
    const item = ctx.fileBrowser.selectedItems().next()?.value;
    if (item && fits(item.path)) {
      return { path: item.path, panel: findDocument(ctx, item.path) };
    }
    return null;
  }
  const current = ctx.app.shell.currentWidget;
  if (current instanceof DocumentWidget && fits(current.context.path)) {
    return { path: current.context.path, panel: current };
  }
  const notebook = ctx.notebooks?.currentWidget;
  if (notebook && fits(notebook.context.path)) {
    return { path: notebook.context.path, panel: notebook };
  }
  return null;
}

function findDocument(
  ctx: ICommandContext,
  path: string
): DocumentWidget | null {
  for (const widget of ctx.app.shell.widgets('main')) {
    if (widget instanceof DocumentWidget && widget.context.path === path) {
      return widget;
    }
  }
  return null;
}

async function saveIfOpen(target: ITarget): Promise<void> {
  const panel = target.panel;
  if (panel && panel.context.model.dirty && !panel.context.model.readOnly) {
    await panel.context.save();
  } else if (panel && panel.context.isReady === false) {
    await panel.context.ready;
  }
}

/**
 * Export a notebook to a .py beside it, asking before overwriting.
 */
async function exportScript(
  ctx: ICommandContext,
  args: ReadonlyPartialJSONObject
): Promise<string | undefined> {
  const target = findTarget(ctx, args, ['.ipynb']);
  if (!target) {
    void showDialog({
      title: trans.__('Export to .py'),
      body: trans.__('Open or select a notebook to export.'),
      buttons: [Dialog.okButton({ label: trans.__('OK') })]
    });
    return;
  }
  try {
    await saveIfOpen(target);
    let result: { path: string; warnings?: string[] };
    try {
      result = await ctx.model.client.exportNotebook(target.path, false);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409) {
        throw error;
      }
      const py = PathExt.join(
        PathExt.dirname(target.path),
        PathExt.basename(target.path, '.ipynb') + '.py'
      );
      const answer = await showDialog({
        title: trans.__('Overwrite the script?'),
        body: trans.__("%1 exists. Replace it with the notebook's code?", py),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.warnButton({ label: trans.__('Overwrite') })
        ]
      });
      if (!answer.button.accept) {
        return;
      }
      result = await ctx.model.client.exportNotebook(target.path, true);
    }
    await revertIfOpen(ctx, result.path);
    await ctx.app.commands.execute('docmanager:open', { path: result.path });
    if (result.warnings && result.warnings.length) {
      notifyExportWarnings(result.path, result.warnings);
    }
    return result.path;
  } catch (error) {
    reportError(trans.__('Export to .py failed'), error);
  }
}

/**
 * An open editor of a file rewritten on disk shows the new text.
 */
async function revertIfOpen(ctx: ICommandContext, path: string): Promise<void> {
  const widget = findDocument(ctx, path);
  if (widget && !widget.context.model.dirty) {
    await widget.context.revert();
  }
}

/**
 * The Python kernels the server knows, and the one to preselect.
 */
function kernelChoices(
  ctx: ICommandContext,
  panel: ITarget['panel']
): { kernels: IKernelChoice[]; preferred: string } {
  const specs = ctx.app.serviceManager.kernelspecs.specs;
  const all = specs ? Object.values(specs.kernelspecs) : [];
  const kernels = all
    .filter(s => s && (s.language ?? '').toLowerCase() === 'python')
    .map(s => ({ name: s!.name, displayName: s!.display_name }));
  let preferred = specs?.default ?? '';
  if (panel instanceof NotebookPanel) {
    const session = panel.sessionContext;
    preferred =
      session.session?.kernel?.name ??
      session.kernelPreference.name ??
      (panel.context.model.getMetadata('kernelspec') as { name?: string })
        ?.name ??
      preferred;
  }
  if (!kernels.some(k => k.name === preferred)) {
    preferred = kernels.length ? kernels[0].name : '';
  }
  return { kernels, preferred };
}

/**
 * Create a job from a notebook or a script: with the dialog, or straight
 * from the arguments when `dialog` is false.
 */
async function createJob(
  ctx: ICommandContext,
  args: ReadonlyPartialJSONObject
): Promise<IJob | undefined> {
  const target = findTarget(ctx, args, SCRIPT_EXTENSIONS);
  if (!target) {
    void showDialog({
      title: trans.__('Create Job'),
      body: trans.__(
        'Open or select a notebook or a .py script to run as a job.'
      ),
      buttons: [Dialog.okButton({ label: trans.__('OK') })]
    });
    return;
  }
  await ctx.app.serviceManager.kernelspecs.ready;
  const { kernels, preferred } = kernelChoices(ctx, target.panel);
  const resources = ctx.model.client.resources();
  let value: ICreateJobValue = {
    resource: (args.resource as Resource) ?? 'gpu',
    name: (args.name as string) ?? '',
    gpus: (args.gpus as number) ?? 1,
    args: Array.isArray(args.args) ? (args.args as string[]).join(' ') : '',
    kernel: (args.kernel as string) ?? preferred
  };
  if (args.dialog !== false) {
    const body = new CreateJobBody({
      script: target.path,
      placeholderName: defaultJobName(
        target.path,
        ctx.model.allJobs.map(j => j.name)
      ),
      resources: resources.then(r => {
        if (!r.gpus.length && value.resource === 'gpu') {
          value = { ...value, resource: 'cpu' };
        }
        return r;
      }),
      kernels,
      initial: value,
      jobs: id => ctx.model.get(id)
    });
    const answer = await showDialog({
      title: trans.__('Create Job'),
      body,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.okButton({ label: trans.__('Create') })
      ],
      focusNodeSelector: 'input[type="radio"]:checked'
    });
    if (!answer.button.accept || !answer.value) {
      return;
    }
    value = answer.value;
  }
  let scriptArgs: string[];
  try {
    scriptArgs =
      Array.isArray(args.args) && args.dialog === false
        ? (args.args as string[])
        : splitArgs(value.args);
  } catch (error) {
    reportError(trans.__('Create Job'), error);
    return;
  }
  let timeLimit: number | null;
  let grid: { [param: string]: string[] } | null = null;
  try {
    timeLimit = parseDuration(value.timeLimit ?? '');
    if (value.sweep) {
      grid = parseGrid(value.grid ?? '');
      if (!Object.keys(grid).length) {
        throw new Error(trans.__('a sweep needs a grid: NAME=V1,V2 on a line'));
      }
    }
  } catch (error) {
    reportError(trans.__('Create Job'), error);
    return;
  }
  try {
    await saveIfOpen(target);
    const request = {
      script: target.path,
      resource: value.resource,
      name: value.name.trim() || undefined,
      gpus: value.resource === 'gpu' ? value.gpus : undefined,
      args: scriptArgs,
      kernel: value.kernel || undefined,
      time_limit: timeLimit ?? undefined,
      retries: value.retries || undefined
    };
    if (args.dialog !== false) {
      const { warnings } = await ctx.model.client.check(request);
      if (warnings && warnings.length) {
        if (!(await confirmWarnings(target.path, warnings))) {
          return;
        }
      }
    }
    let job: IJob;
    if (grid) {
      const sweep = await ctx.model.client.submitSweep({
        ...request,
        grid,
        max_parallel: value.maxParallel || undefined
      });
      sweep.jobs.forEach(j => ctx.model.upsert(j));
      job = sweep.jobs[0];
    } else {
      job = await ctx.model.client.submit(request);
      ctx.model.upsert(job);
    }
    ctx.model.selected = job.id;
    ctx.app.shell.activateById('momo-jobs-sidebar');
    return job;
  } catch (error) {
    reportError(trans.__('The job was not created'), error);
  }
}

/**
 * Open (or reveal) the view of a job.
 */
function openJob(
  ctx: ICommandContext,
  id: string,
  activate = true
): MainAreaWidget<JobView> {
  const existing = ctx.tracker.find(w => w.content.model.jobId === id);
  if (existing) {
    if (activate) {
      ctx.app.shell.activateById(existing.id);
    }
    return existing;
  }
  const model = new JobViewModel({ jobs: ctx.model, jobId: id });
  const content = new JobView({
    model,
    actions: jobActions(ctx),
    downloadCsv: jobId => void downloadCsv(ctx, jobId)
  });
  const widget = new MainAreaWidget({ content });
  widget.id = `momo-job-view-${id}`;
  widget.addClass('jp-MomoJobs-jobWidget');
  void ctx.tracker.add(widget);
  ctx.app.shell.add(widget, 'main', { activate });
  void model.start();
  return widget;
}

async function downloadCsv(ctx: ICommandContext, id: string): Promise<void> {
  try {
    const text = await ctx.model.client.metricsCsv(id);
    const blob = new Blob([text], { type: 'text/csv' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `${ctx.model.get(id)?.name ?? id}-metrics.csv`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    reportError(trans.__('The metrics cannot be downloaded'), error);
  }
}

async function deleteJob(
  ctx: ICommandContext,
  id: string,
  confirm: boolean
): Promise<void> {
  const job = ctx.model.get(id);
  if (confirm) {
    const answer = await showDialog({
      title: trans.__('Delete job?'),
      body: trans.__(
        'Delete “%1” with its log and metrics? Its results folder stays.',
        job?.name ?? id
      ),
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: trans.__('Delete') })
      ]
    });
    if (!answer.button.accept) {
      return;
    }
  }
  try {
    await ctx.model.remove(id);
    ctx.tracker.find(w => w.content.model.jobId === id)?.dispose();
  } catch (error) {
    reportError(trans.__('The job was not deleted'), error);
  }
}

/**
 * The actions the views call, as commands.
 */
export function jobActions(ctx: ICommandContext): IJobActions {
  const run = (command: string, args: ReadonlyPartialJSONObject) =>
    void ctx.app.commands.execute(command, args);
  return {
    open: id => run(CommandIDs.openJob, { id }),
    openRuns: () => run(CommandIDs.openRuns, {}),
    stop: id => run(CommandIDs.stopJob, { id }),
    rerun: id => run(CommandIDs.rerunJob, { id }),
    remove: id => run(CommandIDs.deleteJob, { id }),
    openConsole: job =>
      run('console:create', {
        kernelPreference: { id: job.kernel_id },
        name: job.name,
        activate: true
      } as ReadonlyPartialJSONObject),
    openFile: path => {
      // folders and binary files (saved models, arrays) are shown in the
      // file browser; other files open in JupyterLab
      const ext = PathExt.extname(path).toLowerCase();
      if (!ext || BINARY_EXTENSIONS.includes(ext)) {
        run('filebrowser:go-to-path', { path });
      } else {
        run('docmanager:open', { path });
      }
    }
  };
}

/**
 * Copy the MNIST tutorial into a folder and open its notebook.
 */
async function mnistTutorial(
  ctx: ICommandContext,
  args: ReadonlyPartialJSONObject
): Promise<string | undefined> {
  let dir = typeof args.dir === 'string' ? args.dir : null;
  if (dir === null) {
    const cwd = ctx.fileBrowser?.model.path ?? '';
    const answer = await InputDialog.getText({
      title: trans.__('MNIST training tutorial'),
      label: trans.__('Copy the tutorial and its data into the folder'),
      text: PathExt.join(cwd, 'mnist-tutorial'),
      okLabel: trans.__('Create'),
      cancelLabel: trans.__('Cancel')
    });
    if (!answer.button.accept || !answer.value) {
      return;
    }
    dir = answer.value.trim();
  }
  const request = ctx.model.client.createExample('mnist', dir, uiLanguage());
  Notification.promise(request, {
    pending: {
      message: trans.__('Preparing the MNIST tutorial in %1/ …', dir),
      options: {}
    },
    success: {
      message: () => trans.__('The MNIST tutorial is ready in %1/', dir),
      options: { autoClose: 4000 }
    },
    error: {
      message: (e: unknown) =>
        trans.__('The MNIST tutorial was not created: %1', errorText(e)),
      options: { autoClose: 10000 }
    }
  });
  try {
    const { notebook } = await request;
    await ctx.app.commands.execute('docmanager:open', { path: notebook });
    return notebook;
  } catch {
    return; // already reported
  }
}

function idOf(args: ReadonlyPartialJSONObject): string {
  const id = args.id;
  if (typeof id !== 'string' || !id) {
    throw new Error(trans.__('a job id is needed'));
  }
  return id;
}

/**
 * Register the commands.
 */
export function addCommands(ctx: ICommandContext, sidebar: JobsSidebar): void {
  const { commands } = ctx.app;
  commands.addCommand(CommandIDs.exportScript, {
    label: trans.__('Export to .py'),
    caption: trans.__(
      'Save the notebook and export its code to a .py script beside it'
    ),
    icon: exportIcon,
    execute: args => exportScript(ctx, args)
  });
  commands.addCommand(CommandIDs.createJob, {
    label: args =>
      args.isPalette
        ? trans.__('Create Job from the current notebook or script')
        : trans.__('Create Job'),
    caption: trans.__(
      'Run this notebook or script as a background job on a GPU, a CPU or a console kernel'
    ),
    icon: createJobIcon,
    execute: args => createJob(ctx, args)
  });
  commands.addCommand(CommandIDs.showJobs, {
    label: trans.__('Show Jobs'),
    caption: trans.__('Show the Jobs sidebar'),
    icon: jobsIcon,
    execute: () => ctx.app.shell.activateById(sidebar.id)
  });
  commands.addCommand(CommandIDs.openJob, {
    label: trans.__('Open Job'),
    execute: args => {
      openJob(ctx, idOf(args), args.activate !== false);
    }
  });
  commands.addCommand(CommandIDs.stopJob, {
    label: trans.__('Stop Job'),
    execute: args =>
      ctx.model
        .stop(idOf(args))
        .catch(e => reportError(trans.__('The job was not stopped'), e))
  });
  commands.addCommand(CommandIDs.rerunJob, {
    label: trans.__('Rerun Job'),
    execute: async args => {
      try {
        const job = await ctx.model.rerun(idOf(args));
        ctx.model.selected = job.id;
        return job;
      } catch (error) {
        reportError(trans.__('The job was not rerun'), error);
      }
    }
  });
  commands.addCommand(CommandIDs.deleteJob, {
    label: trans.__('Delete Job'),
    execute: args => deleteJob(ctx, idOf(args), args.confirm !== false)
  });
  commands.addCommand(CommandIDs.mnistTutorial, {
    label: trans.__('MNIST training tutorial'),
    caption: trans.__(
      'Copy the MNIST convnet tutorial and its data into a folder, and open it'
    ),
    icon: mnistIcon,
    execute: args => mnistTutorial(ctx, args)
  });
}

/**
 * Toast the end of jobs, with an action to open them.
 */
export function notifyFinished(ctx: ICommandContext, job: IJob): void {
  if (!isFinal(job.status)) {
    return;
  }
  const d = jobDuration(job);
  const took = d === null ? '' : formatDuration(d);
  const options = {
    autoClose: job.status === 'failed' ? 20000 : 8000,
    actions: [
      {
        label: trans.__('Open job'),
        caption: trans.__('Open the view of %1', job.name),
        callback: () =>
          void ctx.app.commands.execute(CommandIDs.openJob, { id: job.id })
      }
    ]
  };
  if (job.status === 'completed') {
    Notification.success(
      took
        ? trans.__('Job %1 completed after %2.', job.name, took)
        : trans.__('Job %1 completed.', job.name),
      options
    );
  } else if (job.status === 'failed') {
    const why = job.reason
      ? job.reason
      : job.exit_code !== null
        ? trans.__('exit code %1', job.exit_code)
        : '';
    const text = took
      ? trans.__('Job %1 failed after %2.', job.name, took)
      : trans.__('Job %1 failed.', job.name);
    Notification.error(why ? trans.__('%1 %2', text, why) : text, options);
  } else {
    Notification.warning(
      took
        ? trans.__('Job %1 was stopped after %2.', job.name, took)
        : trans.__('Job %1 was stopped.', job.name),
      options
    );
  }
}
