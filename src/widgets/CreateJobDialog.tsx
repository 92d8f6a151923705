/**
 * The body of the Create Job dialog.
 */
import { Dialog, ReactWidget } from '@jupyterlab/apputils';
import * as React from 'react';

import type { IJob, IResources } from '../api';
import {
  CreateJobForm,
  ICreateJobValue,
  IKernelChoice
} from '../components/CreateJobForm';

export class CreateJobBody
  extends ReactWidget
  implements Dialog.IBodyWidget<ICreateJobValue>
{
  constructor(options: CreateJobBody.IOptions) {
    super();
    this.addClass('jp-MomoJobs-createDialog');
    this._options = options;
    this._value = options.initial;
    void options.resources.then(
      r => this._setResources(r),
      e => this._setResources(e instanceof Error ? e : new Error(String(e)))
    );
  }

  getValue(): ICreateJobValue {
    return this._value;
  }

  render(): JSX.Element {
    return (
      <CreateJobForm
        script={this._options.script}
        placeholderName={this._options.placeholderName}
        resources={this._resources}
        kernels={this._options.kernels}
        jobs={this._options.jobs}
        initial={this._value}
        onChange={v => {
          this._value = v;
        }}
      />
    );
  }

  private _setResources(r: IResources | Error): void {
    this._resources = r;
    this.update();
  }

  private _options: CreateJobBody.IOptions;
  private _value: ICreateJobValue;
  private _resources: IResources | Error | null = null;
}

export namespace CreateJobBody {
  export interface IOptions {
    script: string;
    placeholderName: string;
    resources: Promise<IResources>;
    kernels: IKernelChoice[];
    initial: ICreateJobValue;
    /** This server's jobs, by id (to name the one holding a GPU). */
    jobs?: (id: string) => IJob | undefined;
  }
}
