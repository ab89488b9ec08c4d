import { resolve } from 'node:path';
import { ConfigError } from '@records/pipeline-config';
import { type DeployConfig, loadDeployConfig } from './config.js';
import { createPipelineApp } from './pipeline-app.js';

// `cdk synth` and `cdk deploy` run this: configuration from the same variables the services read.
const repositoryRoot = resolve(import.meta.dirname, '../..');

function configuration(): DeployConfig | undefined {
  try {
    return loadDeployConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The variable and what it accepts; a stack trace would only bury them.
    console.error(`Cannot deploy: ${error.message}`);
    process.exitCode = 1;
    return undefined;
  }
}

const config = configuration();
if (config !== undefined) {
  const { app } = createPipelineApp({
    config,
    repositoryRoot,
    lambdaBundle: resolve(repositoryRoot, 'services/consumer/dist-lambda/consumer-lambda.zip'),
  });
  app.synth();
}
