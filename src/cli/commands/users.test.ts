import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AuditLog, verifyAuditLog } from '../../foundation/audit/index.js';
import { UserStore, auditLogPath } from '../../node/access/index.js';
import { openNodeDatabase } from '../../node/store/index.js';
import { addUser, disableUser } from './users.js';

describe('radiolens users', () => {
  it('add and disable are stored in the node database and recorded in the audit log', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'radiolens-users-')), 'data');
    try {
      await addUser({ data: dir, role: 'auditor' }, 'grace', 'a long enough passphrase');
      await assert.rejects(
        addUser({ data: dir, role: 'auditor' }, 'eve', 'short'),
        /at least 12 characters/,
      );
      assert.equal(await disableUser({ data: dir }, 'grace'), true);
      assert.equal(await disableUser({ data: dir }, 'grace'), false);
      await assert.rejects(disableUser({ data: dir }, 'nobody'), /no user "nobody"/);
      const db = openNodeDatabase(dir);
      try {
        const [grace] = new UserStore(db).list();
        assert.equal(grace?.role, 'auditor');
        assert.notEqual(grace?.disabledAt, null);
      } finally {
        db.close();
      }
      const log = new AuditLog(auditLogPath(dir));
      assert.deepEqual(
        (await log.entries()).map((e) => [e.action, e.subject]),
        [
          ['user.add', 'user:grace'],
          ['user.disable', 'user:grace'],
        ],
      );
      assert.equal((await verifyAuditLog(log.path)).ok, true);
    } finally {
      await rm(join(dir, '..'), { recursive: true, force: true });
    }
  });
});
