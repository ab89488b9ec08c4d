import { describe, expect, it } from 'vitest';
import { InvalidRecordError } from '../../src/errors.js';
import { prepareRecord } from '../../src/record.js';

describe('Function: prepareRecord', () => {
  it('returns the body unchanged when it has a valid id', () => {
    // Prepare
    const body = { id: 'order-1', nested: { list: [1, 'two', null, true] }, text: 'héllo 🙂' };

    // Act
    const record = prepareRecord(body);

    // Assess
    expect(record).toEqual(body);
  });

  it('adds a new UUID as id when the body has none', () => {
    // Act
    const first = prepareRecord({ amount: 3 });
    const second = prepareRecord({ amount: 3 });

    // Assess
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second.id).not.toBe(first.id);
    expect(first).toMatchObject({ amount: 3 });
  });

  it.each([
    [null, 'null'],
    [[1, 2], 'an array'],
    ['text', 'string'],
    [42, 'number'],
  ])('throws RECORD_NOT_OBJECT when the body is %j', (body, kind) => {
    // Act
    const act = () => prepareRecord(body);

    // Assess
    expect(act).toThrow(InvalidRecordError);
    expect(act).toThrow(`got ${kind}`);
    expect(() => prepareRecord(body)).toThrow(expect.objectContaining({ code: 'RECORD_NOT_OBJECT' }));
  });

  it.each([[{ id: 7 }], [{ id: '' }], [{ id: '   ' }], [{ id: 'a\nb' }], [{ id: 'x'.repeat(1025) }]])(
    'throws INVALID_RECORD_ID when the id is %j',
    (body) => {
      expect(() => prepareRecord(body)).toThrow(expect.objectContaining({ code: 'INVALID_RECORD_ID' }));
    },
  );

  it.each([
    [{ huge: 1e200 }, '$.huge'],
    [{ tiny: [5e-324] }, '$.tiny[0]'],
    [{ '': 1 }, 'empty attribute name'],
    [{ deep: JSON.parse(`${'['.repeat(40)}1${']'.repeat(40)}`) }, 'nested deeper than 32'],
  ])('throws RECORD_NOT_STORABLE when a table could not hold %j', (body, detail) => {
    // Act
    const act = () => prepareRecord(body);

    // Assess
    expect(act).toThrow(expect.objectContaining({ code: 'RECORD_NOT_STORABLE' }));
    expect(act).toThrow(detail);
  });
});
