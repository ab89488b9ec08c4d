import { describe, expect, it } from 'vitest';
import { prepareRecord } from '../../src/record.js';

const reserved = '_pipeline';
const prepare = (input: Parameters<typeof prepareRecord>[0]) => prepareRecord(input, reserved);

describe('Function: prepareRecord', () => {
  it('returns the body as posted when it has a valid id', () => {
    // Prepare
    const body = '{"id":"order-1","nested":{"list":[1,"two",null,true]},"text":"héllo 🙂"}';

    // Act
    const record = prepare(Buffer.from(body));

    // Assess
    expect(record).toMatchObject({ id: 'order-1', json: body });
  });

  it('keeps every digit of numbers a double cannot hold', () => {
    // Prepare
    const body =
      '{"id":"n","big":12345678901234567,"d38":1.2345678901234567890123456789012345678,"e":-9.99e125,"t":1e-130}';

    // Act
    const record = prepare(Buffer.from(body));

    // Assess
    expect(record.json).toBe(body);
  });

  it('adds a new UUID as id when the body has none', () => {
    // Act
    const first = prepare('{"amount":3}');
    const second = prepare({ amount: 3 });

    // Assess
    expect(first.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(second.id).not.toBe(first.id);
    expect(JSON.parse(first.json)).toEqual({ amount: 3, id: first.id });
  });

  it('takes values from code, bigints included, as exactly as bodies', () => {
    // Act
    const record = prepare({ id: 'v', count: 12345678901234567890n, ratio: 0.5 });

    // Assess
    expect(record.json).toBe('{"id":"v","count":12345678901234567890,"ratio":0.5}');
  });

  it.each([
    ['null', 'null'],
    ['[1,2]', 'an array'],
    ['"text"', 'string'],
    ['42', 'a number'],
  ])('throws RECORD_NOT_OBJECT when the body is %s', (body, kind) => {
    // Act
    const act = () => prepare(body);

    // Assess
    expect(act).toThrow(`got ${kind}`);
    expect(act).toThrow(expect.objectContaining({ code: 'RECORD_NOT_OBJECT' }));
  });

  it.each([['{"id":7}'], ['{"id":""}'], ['{"id":"   "}'], ['{"id":"a\\nb"}'], [`{"id":"${'x'.repeat(1025)}"}`]])(
    'throws INVALID_RECORD_ID when the body is %s',
    (body) => {
      expect(() => prepare(body)).toThrow(expect.objectContaining({ code: 'INVALID_RECORD_ID' }));
    },
  );

  it.each([
    ['{"huge":1e126}', '$.huge'],
    ['{"tiny":[1e-131]}', '$.tiny[0]'],
    ['{"tiny":1e-400}', '$.tiny'],
    ['{"digits":1.23456789012345678901234567890123456789}', 'more than 38 significant digits'],
    ['{"z":-0}', 'negative zero'],
    ['{"z":{"a":-0.0e5}}', 'negative zero'],
    ['{"":1}', 'empty attribute name'],
    ['{"a":{"__proto__":1}}', '__proto__'],
    [`{"deep":${'['.repeat(40)}1${']'.repeat(40)}}`, 'nested deeper than 32'],
    [`{"big":"${'x'.repeat(400 * 1024)}"}`, 'would be an item of'],
  ])('throws RECORD_NOT_STORABLE when a table could not hold %s', (body, detail) => {
    // Act
    const act = () => prepare(body);

    // Assess
    expect(act).toThrow(expect.objectContaining({ code: 'RECORD_NOT_STORABLE' }));
    expect(act).toThrow(detail);
  });

  it('takes keys named like Object.prototype members, at any depth', () => {
    // Prepare
    const body = '{"id":"p","constructor":1,"toString":{"hasOwnProperty":[{"constructor":"x"}]},"valueOf":null}';

    // Act
    const record = prepare(body);

    // Assess
    expect(record.json).toBe(body);
  });

  it('throws RESERVED_ATTRIBUTE when the record uses the pipeline attribute', () => {
    expect(() => prepare('{"id":"r","_pipeline":{}}')).toThrow(expect.objectContaining({ code: 'RESERVED_ATTRIBUTE' }));
    expect(prepare('{"id":"r","_id":1,"nested":{"_pipeline":1}}').id).toBe('r');
  });

  it.each([
    [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 'INVALID_ENCODING'],
    [Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d]), 'INVALID_ENCODING'],
    [Buffer.from('{"a":1,"a":2}'), 'INVALID_JSON'],
    [Buffer.from('{"a":1'), 'INVALID_JSON'],
    [Buffer.alloc(0), 'INVALID_JSON'],
  ])('throws %s for bodies that are not UTF-8 JSON (%#)', (body, code) => {
    expect(() => prepare(body)).toThrow(expect.objectContaining({ code }));
  });
});
