/**
 * The UserStore contract (src/server/users/store.ts): every backend runs this suite. A
 * backend that persists passes `reopen` so the suite can check that state survives.
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { ErrorCode, ProtocolError } from '../../../src/net/errors.ts';
import type { UserRecord, UserStore } from '../../../src/server/users/store.ts';
import { defer } from '../../helpers/cleanup.ts';

export interface StoreFixture {
  /** A new, opened, empty store. */
  store: UserStore;
  /** Remove everything the fixture created. */
  cleanup(): Promise<void>;
}

export interface PersistentStoreFixture extends StoreFixture {
  /** Close the store and open a new instance on the same storage. */
  reopen(): Promise<UserStore>;
}

/** A syntactically valid scrypt-kdf hash (the CSV store checks the format, not the password). */
export const SAMPLE_HASH = Buffer.concat([Buffer.from('scrypt'), Buffer.alloc(90, 7)]).toString('base64');

/** Another valid hash, to tell a changed password from the old one. */
export const OTHER_HASH = Buffer.concat([Buffer.from('scrypt'), Buffer.alloc(90, 9)]).toString('base64');

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678);

function user(username: string, createdAt = T0): Omit<UserRecord, 'lastSeenAt'> {
  return { username, passwordHash: SAMPLE_HASH, createdAt };
}

function isTaken(err: unknown): boolean {
  return err instanceof ProtocolError && err.code === ErrorCode.USERNAME_TAKEN;
}

export function userStoreContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`UserStore contract: ${name}`, () => {
    /** A fresh fixture, cleaned up when the test ends. */
    async function storeFixture(t: TestContext): Promise<StoreFixture> {
      const fx = await makeFixture();
      defer(t, () => fx.cleanup());
      return fx;
    }

    test('a new store is empty', async (t) => {
      const { store } = await storeFixture(t);
      assert.equal(store.size, 0);
      assert.deepEqual(store.list(), []);
      assert.equal(store.get('alice'), undefined);
      assert.equal(store.has('alice'), false);
    });

    test('create, then get and has ignore case and keep the name as typed', async (t) => {
      const { store } = await storeFixture(t);
      const record = await store.create(user('Alice.B'));
      assert.deepEqual(record, { ...user('Alice.B'), lastSeenAt: null });
      assert.equal(store.size, 1);
      assert.equal(store.has('alice.b'), true);
      assert.equal(store.has('ALICE.B'), true);
      assert.deepEqual(store.get('aLiCe.b'), record);
      assert.deepEqual(store.list(), [record]);
    });

    test('a name is taken whatever its case', async (t) => {
      const { store } = await storeFixture(t);
      await store.create(user('bob'));
      await assert.rejects(store.create(user('BOB')), isTaken);
      await assert.rejects(store.create(user('bob')), isTaken);
      assert.equal(store.size, 1);
      assert.equal(store.get('bob')?.username, 'bob');
    });

    test('a name being created counts as taken before the create resolves', async (t) => {
      const { store } = await storeFixture(t);
      const pending = store.create(user('carol'));
      assert.equal(store.has('Carol'), true);
      await pending;
      assert.equal(store.has('carol'), true);
    });

    test('concurrent creates of one name: exactly one wins', async (t) => {
      const { store } = await storeFixture(t);
      const spellings = ['dave', 'Dave', 'DAVE', 'dAve', 'daVe', 'davE', 'DaVe', 'dave', 'DAVe', 'dAVE'];
      const results = await Promise.allSettled(spellings.map((n) => store.create(user(n))));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1);
      for (const r of results) if (r.status === 'rejected') assert.ok(isTaken(r.reason), String(r.reason));
      assert.equal(store.size, 1);
      assert.equal(store.list().length, 1);
    });

    test('concurrent creates of different names all succeed', async (t) => {
      const { store } = await storeFixture(t);
      const names = Array.from({ length: 50 }, (_, i) => `user${i}`);
      await Promise.all(names.map((n, i) => store.create(user(n, T0 + i))));
      assert.equal(store.size, 50);
      assert.deepEqual(
        store
          .list()
          .map((u) => u.username)
          .sort(),
        [...names].sort(),
      );
      for (const [i, n] of names.entries()) assert.equal(store.get(n)?.createdAt, T0 + i);
    });

    test('touch records last seen; unknown names are ignored', async (t) => {
      const { store } = await storeFixture(t);
      await store.create(user('erin'));
      store.touch('ERIN', T0 + 1000);
      store.touch('nobody', T0);
      assert.equal(store.get('erin')?.lastSeenAt, T0 + 1000);
      assert.equal(store.has('nobody'), false);
    });

    test('setPasswordHash replaces the hash, whatever the case of the name; unknown names give false', async (t) => {
      const { store } = await storeFixture(t);
      await store.create(user('Ivan'));
      await store.create(user('judy'));
      assert.equal(await store.setPasswordHash('IVAN', OTHER_HASH), true);
      assert.equal(store.get('ivan')?.passwordHash, OTHER_HASH);
      assert.equal(store.get('ivan')?.username, 'Ivan', 'the name is kept as registered');
      assert.equal(store.get('judy')?.passwordHash, SAMPLE_HASH, 'other users are untouched');
      assert.equal(await store.setPasswordHash('nobody', OTHER_HASH), false);
      assert.equal(store.has('nobody'), false);
    });

    test('setPasswordHash with ifCurrent is a compare-and-set, counting changes not yet durable', async (t) => {
      const { store } = await storeFixture(t);
      await store.create(user('ruth'));
      assert.equal(await store.setPasswordHash('ruth', OTHER_HASH, OTHER_HASH), false, 'not the current hash');
      assert.equal(store.get('ruth')?.passwordHash, SAMPLE_HASH);
      // Two changes from the same hash at once: the first wins, the second sees it pending.
      const [first, second] = await Promise.all([
        store.setPasswordHash('ruth', OTHER_HASH, SAMPLE_HASH),
        store.setPasswordHash('ruth', SAMPLE_HASH.replace('A', 'B'), SAMPLE_HASH),
      ]);
      assert.deepEqual([first, second], [true, false]);
      assert.equal(store.get('ruth')?.passwordHash, OTHER_HASH);
    });

    test('remove: gone from get at once, the name taken until durable, then free to register again', async (t) => {
      const { store } = await storeFixture(t);
      await store.create(user('Kim'));
      await store.create(user('leo'));
      const removing = store.remove('kIM');
      assert.equal(store.get('kim'), undefined);
      assert.equal(store.has('kim'), true, 'taken while the removal is written');
      await assert.rejects(store.create(user('KIM')), isTaken);
      assert.equal(await removing, true);
      assert.equal(store.has('kim'), false);
      assert.equal(store.size, 1);
      assert.deepEqual(
        store.list().map((u) => u.username),
        ['leo'],
      );
      const again = await store.create(user('kim', T0 + 9));
      assert.equal(again.createdAt, T0 + 9);
      assert.equal(store.size, 2);
    });

    test('remove of an unknown name gives false; two removes of one user: exactly one wins', async (t) => {
      const { store } = await storeFixture(t);
      assert.equal(await store.remove('nobody'), false);
      await store.create(user('mia'));
      const results = await Promise.all([
        store.remove('mia'),
        store.remove('MIA'),
        store.setPasswordHash('mia', OTHER_HASH),
      ]);
      assert.deepEqual(results.slice(0, 2).sort(), [false, true]);
      assert.equal(results[2], false, 'no hash change for a user being removed');
      assert.equal(store.size, 0);
    });

    test('close resolves, and twice is harmless', async (t) => {
      const { store } = await storeFixture(t);
      await store.create(user('frank'));
      await store.close();
      await store.close();
    });
  });
}

/**
 * What a backend that keeps its data (CSV today, Redis later) must also do: the same
 * contract across a close and reopen. In-memory stores have nothing to reopen.
 */
export function persistentUserStoreContract(name: string, makeFixture: () => Promise<PersistentStoreFixture>): void {
  describe(`UserStore contract, across a reopen: ${name}`, () => {
    test('keeps users, times and last seen across a reopen', async (t) => {
      const fx = await makeFixture();
      defer(t, () => fx.cleanup());
      await fx.store.create(user('Grace', T0));
      await fx.store.create(user('heidi', T0 + 1));
      fx.store.touch('grace', T0 + 5000);
      const again = await fx.reopen();
      assert.equal(again.size, 2);
      assert.deepEqual(again.get('grace'), {
        username: 'Grace',
        passwordHash: SAMPLE_HASH,
        createdAt: T0,
        lastSeenAt: T0 + 5000,
      });
      assert.deepEqual(again.get('heidi'), {
        username: 'heidi',
        passwordHash: SAMPLE_HASH,
        createdAt: T0 + 1,
        lastSeenAt: null,
      });
      await assert.rejects(again.create(user('GRACE')), isTaken);
    });

    test('keeps password changes and removals across a reopen', async (t) => {
      const fx = await makeFixture();
      defer(t, () => fx.cleanup());
      await fx.store.create(user('Nina', T0));
      await fx.store.create(user('omar', T0 + 1));
      await fx.store.create(user('pat', T0 + 2));
      assert.equal(await fx.store.setPasswordHash('nina', OTHER_HASH), true);
      assert.equal(await fx.store.remove('OMAR'), true);
      const again = await fx.reopen();
      assert.deepEqual(
        again
          .list()
          .map((u) => u.username)
          .sort(),
        ['Nina', 'pat'],
      );
      assert.equal(again.get('nina')?.passwordHash, OTHER_HASH);
      assert.equal(again.get('pat')?.passwordHash, SAMPLE_HASH);
      assert.equal(again.has('omar'), false);
      await again.create(user('Omar', T0 + 3));
      const third = await fx.reopen();
      assert.equal(third.get('omar')?.createdAt, T0 + 3, 'the name was registered again');
    });
  });
}
