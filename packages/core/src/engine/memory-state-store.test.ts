import { runStateStoreContractSuite } from '../testing/state-store-suite.js';
import { MemoryStateStore } from './memory-state-store.js';

runStateStoreContractSuite({ name: 'MemoryStateStore', createStore: () => new MemoryStateStore() });
