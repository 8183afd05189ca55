import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { apiErrorStatus, isUidMismatch } from '../../../../api/kube/api-clients.js';
import { capMessage, plannedEipCondition } from '../../../../binder/kube/pod-condition.js';

const NOW = new Date('2025-06-01T12:00:00.123Z');

describe('plannedEipCondition', () => {
  it('writes a first condition with the current time, to the second', () => {
    expect(plannedEipCondition(undefined, { status: 'False', reason: 'Binding', message: 'waiting' }, NOW)).toEqual({
      status: 'False',
      reason: 'Binding',
      message: 'waiting',
      lastTransitionTime: '2025-06-01T12:00:00Z',
    });
  });

  it('writes nothing when status, reason and message already match', () => {
    const current = {
      status: 'True' as const,
      reason: 'Associate eip succeed',
      message: '',
      lastTransitionTime: '2025-01-01T00:00:00Z',
    };
    expect(
      plannedEipCondition(current, { status: 'True', reason: 'Associate eip succeed', message: '' }, NOW),
    ).toBeUndefined();
  });

  it('keeps the transition time when only the reason or message changes', () => {
    const current = {
      status: 'False' as const,
      reason: 'Binding',
      message: 'a',
      lastTransitionTime: '2025-01-01T00:00:00Z',
    };
    expect(
      plannedEipCondition(current, { status: 'False', reason: 'CloudError', message: 'b' }, NOW)?.lastTransitionTime,
    ).toBe('2025-01-01T00:00:00Z');
  });

  it('moves the transition time when the status flips', () => {
    const current = { status: 'False' as const, reason: 'Binding', lastTransitionTime: '2025-01-01T00:00:00Z' };
    expect(
      plannedEipCondition(current, { status: 'True', reason: 'Associate eip succeed', message: '' }, NOW)
        ?.lastTransitionTime,
    ).toBe('2025-06-01T12:00:00Z');
  });

  it('compares against the capped message, so a long message is not rewritten forever', () => {
    const long = 'é'.repeat(2000);
    const first = plannedEipCondition(undefined, { status: 'False', reason: 'CloudError', message: long }, NOW)!;
    expect(Buffer.byteLength(first.message!, 'utf8')).toBeLessThanOrEqual(1024);
    expect(plannedEipCondition(first, { status: 'False', reason: 'CloudError', message: long }, NOW)).toBeUndefined();
  });
});

describe('capMessage', () => {
  it('leaves short messages alone and cuts long ones on a character boundary', () => {
    expect(capMessage('short')).toBe('short');
    const cut = capMessage('€'.repeat(500), 100);
    expect(Buffer.byteLength(cut, 'utf8')).toBeLessThanOrEqual(100);
    expect(cut.endsWith('…')).toBe(true);
    expect(cut).not.toContain('\uFFFD');
  });
});

describe('apiErrorStatus', () => {
  it('parses the Status that client-node leaves as a string', () => {
    const body = JSON.stringify({
      kind: 'Status',
      status: 'Failure',
      message: 'pods "p" not found',
      reason: 'NotFound',
      details: { name: 'p', kind: 'pods' },
      code: 404,
    });
    expect(apiErrorStatus(new ApiException(404, 'Not Found', body, {}))).toEqual({
      code: 404,
      reason: 'NotFound',
      message: 'pods "p" not found',
      details: { name: 'p', kind: 'pods' },
    });
  });

  it('copes with a body that is not a Status, and with errors that never reached the server', () => {
    expect(apiErrorStatus(new ApiException(502, 'Bad Gateway', '<html>bad gateway</html>', {}))).toEqual({
      code: 502,
      reason: '',
      message: '<html>bad gateway</html>',
    });
    expect(apiErrorStatus(new Error('socket hang up'))).toBeUndefined();
  });

  it('recognises a uid mismatch by the field the server names', () => {
    const body = JSON.stringify({
      code: 422,
      reason: 'Invalid',
      message: 'Pod "p" is invalid: metadata.uid: Invalid value: "x": field is immutable',
      details: { causes: [{ field: 'metadata.uid' }] },
    });
    expect(isUidMismatch(new ApiException(422, '', body, {}))).toBe(true);
    const other = JSON.stringify({
      code: 422,
      reason: 'Invalid',
      message: 'spec: Forbidden',
      details: { causes: [{ field: 'spec' }] },
    });
    expect(isUidMismatch(new ApiException(422, '', other, {}))).toBe(false);
    const precondition = JSON.stringify({
      code: 409,
      reason: 'Conflict',
      message: 'Precondition failed: UID in precondition: a, UID in object meta: b',
    });
    expect(isUidMismatch(new ApiException(409, '', precondition, {}))).toBe(true);
  });
});
