import { Validations } from 'aws-cdk-lib';
import type { FargateTaskDefinition } from 'aws-cdk-lib/aws-ecs';

/** What every task definition acknowledges, and why. */
export function acknowledgeTaskDefinition(task: FargateTaskDefinition): void {
  Validations.of(task).acknowledge({
    id: 'AwsSolutions-ECS2',
    reason:
      "The environment holds the services' non-secret configuration (names, regions, ports); the producer's API keys come from Secrets Manager through the container's secrets, never the environment.",
  });
  Validations.of(task).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'The execution role pulls the image: ecr:GetAuthorizationToken takes no resource, so AWS grants it on * (the repository actions are scoped).',
  });
}
