import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadDeployConfig } from '../../src/config.js';
import { createPipelineApp } from '../../src/pipeline-app.js';

export const repositoryRoot = resolve(import.meta.dirname, '../../..');
const bundleDirectory = join(tmpdir(), `records-lambda-bundle-${process.pid}`);
const lambdaBundle = join(bundleDirectory, 'consumer-lambda.zip');

/** The real Lambda bundle, built by the script `pnpm deploy:aws` runs, into a folder of this run's own. */
export function ensureLambdaBundle(): void {
  if (existsSync(lambdaBundle)) return;
  execFileSync(
    process.execPath,
    [join(repositoryRoot, 'services/consumer/scripts/bundle-lambda.mjs'), bundleDirectory],
    {
      stdio: 'ignore',
    },
  );
}

/** An ACM certificate ARN in the first region: only its shape and region are checked at synthesis. */
export const CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0b7c3c1e-5f2a-4c1e-9d3a-2f6b8e4a1c77';

export const ENV = {
  REGIONS: 'us-east-1,eu-west-1',
  STREAM_NAME: 'records',
  KMS_KEY_ALIAS: 'alias/records',
  PRODUCER_CERTIFICATE_ARN: CERTIFICATE_ARN,
} as const;

/** Synthesizes the app for `env` (the same variables `pnpm deploy:aws` reads) into a scratch folder. */
export function synthesize(env: Record<string, string> = {}) {
  const config = loadDeployConfig({ ...ENV, ...env });
  const { app, stacks } = createPipelineApp({
    config,
    repositoryRoot,
    lambdaBundle,
    outdir: mkdtempSync(join(tmpdir(), 'records-cdk-')),
  });
  // cdk-nag's findings, acknowledged ones apart; synth itself fails on any that is not.
  const report = new AwsSolutionsChecks().validateScope(app);
  return {
    report,
    config,
    stacks,
    templates: stacks.map((stack) => ({ region: stack.region, template: Template.fromStack(stack), stack })),
    errors: stacks.flatMap((stack) =>
      Annotations.fromStack(stack)
        .findError('*', /.*/)
        .map((error) => `${stack.region}: ${JSON.stringify(error.entry.data)}`),
    ),
    warnings: stacks.flatMap((stack) =>
      Annotations.fromStack(stack)
        .findWarning('*', /.*/)
        .map((warning) => `${stack.region}: ${JSON.stringify(warning.entry.data)}`),
    ),
  };
}

/** The reasons the stack's constructs give for the cdk-nag findings they acknowledge, by rule id. */
export function acknowledgmentsOf(stack: Stack): Record<string, string[]> {
  const reasons: Record<string, string[]> = {};
  for (const entry of stack.node.findAll().flatMap((construct) => construct.node.metadata)) {
    if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
    for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
      reasons[id] = [...(reasons[id] ?? []), reason];
    }
  }
  return reasons;
}

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** The template's resources of `type`, by logical id. */
export function resourcesOf(template: Template, type: string): Resources {
  return template.findResources(type) as Resources;
}

type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

/** Every statement of the policies attached to the role whose logical id starts with `rolePrefix`. */
export function statementsOf(template: Template, rolePrefix: string): Statement[] {
  const roles = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) => id.startsWith(rolePrefix));
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as {
    Properties: { Roles: { Ref: string }[]; PolicyDocument: { Statement: Statement[] } };
  }[];
  return policies
    .filter((policy) => policy.Properties.Roles.some((role) => roles.includes(role.Ref)))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
}

export const actionsOf = (statement: Statement) => [statement.Action].flat();
