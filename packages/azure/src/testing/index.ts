/**
 * `@spothedge/azure/testing`: a local Azure Resource Manager fake (compute, network and the
 * Retail Prices API) and a client factory that talks to it through the real
 * `ComputeManagementClient` without ever asking for a token.
 */
export { ArmFake } from './arm-fake.js';
export type {
  ArmFakeOptions,
  FakeArmError,
  FakeArmFault,
  FakeArmOperation,
  FakeRetailPrice,
  FakeVm,
} from './arm-fake.js';
export { CountingCredential, fakeArmClientFactory } from './fake-arm-client.js';
