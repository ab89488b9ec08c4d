import { resolve } from 'node:path';
import { loadDeployConfig } from './config.js';
import { createPipelineApp } from './pipeline-app.js';

// `cdk synth` and `cdk deploy` run this: configuration from the same variables the services read.
const repositoryRoot = resolve(import.meta.dirname, '../..');
const { app } = createPipelineApp({
  config: loadDeployConfig(process.env),
  repositoryRoot,
  lambdaBundle: resolve(repositoryRoot, 'services/consumer/dist-lambda/consumer-lambda.zip'),
});
app.synth();
