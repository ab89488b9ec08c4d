/** The AWS services the pipeline calls, each with its own client settings. */
export type AwsService = 'kinesis' | 'dynamodb' | 'kms' | 'sqs';
