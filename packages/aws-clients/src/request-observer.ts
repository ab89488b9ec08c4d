import type { FinalizeHandler, FinalizeHandlerArguments, HandlerExecutionContext } from '@smithy/types';
import type { AwsService } from './aws-service.js';
import { isTransientAwsError } from './error-classification.js';

export interface AwsRequestEvent {
  readonly service: AwsService;
  /** The API operation, e.g. `GenerateDataKey`. */
  readonly operation: string;
  readonly region: string;
  readonly outcome: 'success' | 'error';
  /** The service's error name when the outcome is an error, e.g. `ThrottlingException`. */
  readonly errorName?: string;
  /** For errors: throttling, a server fault or a network failure, rather than a refused request. */
  readonly transient?: boolean;
  readonly durationSeconds: number;
}

export type AwsRequestObserver = (event: AwsRequestEvent) => void;

/**
 * Sits inside the retry loop, so every attempt that goes over the wire is observed once, as a
 * service quota would count it.
 */
export function requestObserverMiddleware(service: AwsService, region: string, observer: AwsRequestObserver) {
  return (next: FinalizeHandler<any, any>, context: HandlerExecutionContext) =>
    async (args: FinalizeHandlerArguments<any>) => {
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const started = process.hrtime.bigint();
      const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const result = await next(args);
        observer({ service, operation, region, outcome: 'success', durationSeconds: seconds() });
        return result;
      } catch (error) {
        const errorName = error instanceof Error ? error.name : 'Unknown';
        const transient = isTransientAwsError(error);
        observer({ service, operation, region, outcome: 'error', errorName, transient, durationSeconds: seconds() });
        throw error;
      }
    };
}

/** Fans one request event out to several observers. */
export function combineObservers(...observers: AwsRequestObserver[]): AwsRequestObserver {
  return (event) => {
    for (const observer of observers) observer(event);
  };
}
