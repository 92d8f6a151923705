/**
 * The form of the Create Job dialog: kind (GPU / CPU / notebook console),
 * name, GPUs, arguments, kernel; a time limit, retries, and a sweep over a grid.
 */
import * as React from 'react';

import type { IJob, IResources, Resource } from '../api';
import { errorText } from '../errors';
import { formatNumber } from '../format';
import { trans } from '../i18n';
import { GpuHolders } from './GpuHolders';

export interface IKernelChoice {
  name: string;
  displayName: string;
}

export interface ICreateJobValue {
  resource: Resource;
  name: string;
  gpus: number;
  args: string;
  kernel: string;
  /** A time limit as typed (`2h30m`, `90s`); empty for none. */
  timeLimit?: string;
  retries?: number;
  /** Run one job per combination of `grid`'s values. */
  sweep?: boolean;
  /** One parameter a line: `lr=0.1,0.01`. */
  grid?: string;
  /** At most this many of the sweep's jobs at once; 0 for no limit. */
  maxParallel?: number;
}

export interface ICreateJobFormProps {
  script: string;
  placeholderName: string;
  /** null while loading; an Error when the server could not say. */
  resources: IResources | Error | null;
  /** This server's jobs, by id (to name the one holding a GPU). */
  jobs?: (id: string) => IJob | undefined;
  kernels: IKernelChoice[];
  initial: ICreateJobValue;
  onChange: (value: ICreateJobValue) => void;
}

function kinds(): { resource: Resource; label: string; help: string }[] {
  return [
    {
      resource: 'gpu',
      label: trans.__('GPU machine'),
      help: trans.__(
        'Runs the script on whole GPUs; waits in the queue while they are busy.'
      )
    },
    {
      resource: 'cpu',
      label: trans.__('CPU machine'),
      help: trans.__('Runs the script on a CPU slot, with no GPU visible.')
    },
    {
      resource: 'console',
      label: trans.__('Notebook console'),
      help: trans.__(
        'Runs the script in a fresh kernel you can attach a console to.'
      )
    }
  ];
}

/**
 * Why a GPU job cannot be asked for, or null when it can.
 */
export function gpuUnavailableReason(
  resources: IResources | Error | null
): string | null {
  if (resources === null) {
    return trans.__('Checking the GPUs of the server…');
  }
  if (resources instanceof Error) {
    return trans.__("The server's GPUs are unknown: %1", errorText(resources));
  }
  if (!resources.gpus.length) {
    return trans.__(
      'This server has no GPU (none detected, or MOMO_JOBS_GPUS is empty).'
    );
  }
  return null;
}

export function CreateJobForm(props: ICreateJobFormProps): JSX.Element {
  const [value, setValue] = React.useState<ICreateJobValue>(props.initial);
  const id = React.useId();
  const gpuReason = gpuUnavailableReason(props.resources);
  const gpuCount =
    props.resources && !(props.resources instanceof Error)
      ? props.resources.gpus.length
      : 0;

  const update = (patch: Partial<ICreateJobValue>) => {
    const next = { ...value, ...patch };
    setValue(next);
    props.onChange(next);
  };

  // when the GPUs turn out to be missing, fall back to CPU
  React.useEffect(() => {
    if (gpuReason && props.resources !== null && value.resource === 'gpu') {
      update({ resource: 'cpu' });
    }
  }, [gpuReason, props.resources]);

  const resources =
    props.resources && !(props.resources instanceof Error)
      ? props.resources
      : null;
  const freeGpus = resources
    ? resources.gpus.filter(g => !g.holder && !g.held_by && !g.busy).length
    : 0;

  return (
    <form
      className="jp-MomoJobs-createForm"
      onSubmit={e => e.preventDefault()}
      aria-label={trans.__('Create a job')}
    >
      <p className="jp-MomoJobs-script">
        {trans.__('Script:')} <code>{props.script}</code>
      </p>
      <fieldset className="jp-MomoJobs-kinds">
        <legend>{trans.__('Run on')}</legend>
        {kinds().map(kind => {
          const disabled = kind.resource === 'gpu' && gpuReason !== null;
          return (
            <label
              key={kind.resource}
              className={`jp-MomoJobs-kind${disabled ? ' jp-mod-disabled' : ''}`}
              title={disabled ? gpuReason! : kind.help}
            >
              <input
                type="radio"
                name={`${id}-kind`}
                value={kind.resource}
                checked={value.resource === kind.resource}
                disabled={disabled}
                onChange={() => update({ resource: kind.resource })}
              />
              <span className="jp-MomoJobs-kindLabel">{kind.label}</span>
              <span className="jp-MomoJobs-kindHelp">
                {disabled ? gpuReason : kind.help}
              </span>
            </label>
          );
        })}
      </fieldset>
      {resources && (
        <p className="jp-MomoJobs-capacity">
          {resources.gpus.length
            ? trans.__(
                'GPUs: %1 of %2 free, %3 queued.',
                formatNumber(freeGpus),
                formatNumber(resources.gpus.length),
                formatNumber(resources.queues.gpu)
              ) + ' '
            : ''}
          {trans.__(
            'CPU slots: %1 of %2 free, %3 queued.',
            formatNumber(resources.cpu_slots.total - resources.cpu_slots.used),
            formatNumber(resources.cpu_slots.total),
            formatNumber(resources.queues.cpu)
          )}
        </p>
      )}
      {resources && (
        <GpuHolders gpus={resources.gpus} now={Date.now()} jobs={props.jobs} />
      )}
      <label htmlFor={`${id}-name`}>{trans.__('Name')}</label>
      <input
        id={`${id}-name`}
        className="jp-mod-styled jp-MomoJobs-nameInput"
        type="text"
        value={value.name}
        placeholder={props.placeholderName}
        onChange={e => update({ name: e.target.value })}
      />
      {value.resource === 'gpu' && gpuCount > 1 && (
        <>
          <label htmlFor={`${id}-gpus`}>{trans.__('Number of GPUs')}</label>
          <input
            id={`${id}-gpus`}
            className="jp-mod-styled jp-MomoJobs-gpusInput"
            type="number"
            min={1}
            max={gpuCount}
            value={value.gpus}
            onChange={e =>
              update({
                gpus: Math.min(
                  gpuCount,
                  Math.max(1, parseInt(e.target.value, 10) || 1)
                )
              })
            }
          />
        </>
      )}
      <label htmlFor={`${id}-args`}>{trans.__('Script arguments')}</label>
      <input
        id={`${id}-args`}
        className="jp-mod-styled jp-MomoJobs-argsInput"
        type="text"
        value={value.args}
        placeholder={trans.__('e.g. --epochs 12 --batch-size 128')}
        onChange={e => update({ args: e.target.value })}
      />
      <label htmlFor={`${id}-time`}>{trans.__('Time limit')}</label>
      <input
        id={`${id}-time`}
        className="jp-mod-styled jp-MomoJobs-timeInput"
        type="text"
        value={value.timeLimit ?? ''}
        placeholder={trans.__('none, or e.g. 2h30m, 90s')}
        title={trans.__(
          'At the limit the job is stopped (TERM, then KILL after the grace period) and fails.'
        )}
        onChange={e => update({ timeLimit: e.target.value })}
      />
      <label htmlFor={`${id}-retries`}>{trans.__('Retries')}</label>
      <input
        id={`${id}-retries`}
        className="jp-mod-styled jp-MomoJobs-retriesInput"
        type="number"
        min={0}
        max={10}
        value={value.retries ?? 0}
        title={trans.__(
          'A failed attempt runs again under the same job, with MOMO_ATTEMPT and the same MOMO_CHECKPOINT_DIR.'
        )}
        onChange={e =>
          update({
            retries: Math.min(
              10,
              Math.max(0, parseInt(e.target.value, 10) || 0)
            )
          })
        }
      />
      <label className="jp-MomoJobs-sweepToggle">
        <input
          type="checkbox"
          checked={!!value.sweep}
          onChange={e => update({ sweep: e.target.checked })}
        />{' '}
        {trans.__('Sweep: one job per combination of values')}
      </label>
      {value.sweep && (
        <>
          <label htmlFor={`${id}-grid`}>
            {trans.__('Grid (one parameter a line)')}
          </label>
          <textarea
            id={`${id}-grid`}
            className="jp-mod-styled jp-MomoJobs-gridInput"
            rows={3}
            value={value.grid ?? ''}
            placeholder={'lr=0.1,0.01\nbatch_size=64,128'}
            onChange={e => update({ grid: e.target.value })}
          />
          <label htmlFor={`${id}-parallel`}>
            {trans.__('At most at once (0: no limit)')}
          </label>
          <input
            id={`${id}-parallel`}
            className="jp-mod-styled jp-MomoJobs-parallelInput"
            type="number"
            min={0}
            value={value.maxParallel ?? 0}
            onChange={e =>
              update({
                maxParallel: Math.max(0, parseInt(e.target.value, 10) || 0)
              })
            }
          />
        </>
      )}
      <label htmlFor={`${id}-kernel`}>{trans.__('Environment (kernel)')}</label>
      <select
        id={`${id}-kernel`}
        className="jp-mod-styled jp-MomoJobs-kernelSelect"
        value={value.kernel}
        onChange={e => update({ kernel: e.target.value })}
      >
        {props.kernels.map(k => (
          <option key={k.name} value={k.name}>
            {k.displayName}
          </option>
        ))}
      </select>
    </form>
  );
}
