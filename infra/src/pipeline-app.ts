import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { DeployConfig } from './config.js';
import { RegionStack } from './region-stack.js';

export interface PipelineAppOptions {
  readonly config: DeployConfig;
  readonly repositoryRoot: string;
  readonly lambdaBundle: string;
  readonly outdir?: string;
}

/** One stack per region of REGIONS, checked by cdk-nag's AwsSolutions rules. */
export function createPipelineApp(options: PipelineAppOptions): { app: App; stacks: RegionStack[] } {
  const app = new App(options.outdir === undefined ? {} : { outdir: options.outdir });
  const stacks = options.config.pipeline.regions.map(
    (region) =>
      new RegionStack(app, `RecordsPipeline-${region}`, {
        config: options.config,
        region,
        repositoryRoot: options.repositoryRoot,
        lambdaBundle: options.lambdaBundle,
      }),
  );
  Tags.of(app).add('pipeline', options.config.pipeline.streamName);
  // A finding not acknowledged with its reason fails the synthesis, so `cdk deploy` never ships one.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return { app, stacks };
}
