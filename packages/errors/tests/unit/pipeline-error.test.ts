import { describe, expect, it } from 'vitest';
import { PipelineError } from '../../src/index.js';

class WidgetError extends PipelineError {}

describe('Class: PipelineError', () => {
  it('carries its stable code and cause, and is named after the class that raised it', () => {
    // Prepare
    const cause = new Error('socket hang up');

    // Act
    const error = new WidgetError('WIDGET_BROKEN', 'the widget broke', { cause });

    // Assess
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ code: 'WIDGET_BROKEN', message: 'the widget broke', name: 'WidgetError', cause });
  });
});
