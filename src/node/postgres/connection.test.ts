import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RadiolensError } from '../../foundation/core/index.js';
import { connectionLost, databaseError, openPostgresPool, redactUrl } from './index.js';

test('a password never reaches a message', () => {
  assert.equal(redactUrl('postgresql://u:secret@db:5432/rl'), 'postgresql://u:***@db:5432/rl');
  assert.equal(redactUrl('postgresql://u@db/rl'), 'postgresql://u@db/rl');
  assert.throws(
    () => openPostgresPool('mysql://u:secret@db/rl'),
    (error: Error) =>
      /^E_BAD_INPUT: mysql:\/\/u:\*\*\*@db\/rl is not a PostgreSQL URL/.test(error.message),
  );
});

test('connection loss is told apart from other database errors', () => {
  const terminated = Object.assign(new Error('terminating connection'), { code: '57P01' });
  const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const unique = Object.assign(new Error('duplicate key'), { code: '23505' });
  assert.equal(connectionLost(databaseError('x', terminated)), true);
  assert.equal(connectionLost(databaseError('x', refused)), true);
  assert.equal(connectionLost(databaseError('x', unique)), false);
  // A coded error of our own (no cause) is not a lost connection, and does not throw.
  assert.equal(connectionLost(new RadiolensError('E_DATABASE', 'newer schema')), false);
  assert.equal(connectionLost(undefined), false);
  // node-postgres's own errors for a dead client have no code.
  const dead = new Error('Client has encountered a connection error and is not queryable');
  assert.equal(connectionLost(databaseError('x', dead)), true);
  assert.equal(connectionLost(new Error('Connection terminated unexpectedly')), true);
  assert.match(
    databaseError('claiming a job', terminated).message,
    /^E_DATABASE: claiming a job failed: terminating connection — the connection to PostgreSQL was lost/,
  );
});
