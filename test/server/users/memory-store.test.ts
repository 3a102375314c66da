import { MemoryUserStore } from '../../../src/server/users/memory-store.ts';
import { userStoreContract } from './store-contract.ts';

userStoreContract('MemoryUserStore', async () => {
  const store = new MemoryUserStore();
  await store.open();
  return { store, cleanup: () => store.close() };
});
