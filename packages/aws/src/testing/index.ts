/**
 * `@spothedge/aws/testing`: a local EC2 Query API fake for testing code that uses the AWS
 * provider (or any EC2 client) without a cloud.
 */
export { Ec2Fake } from './ec2-fake.js';
export type {
  Ec2FakeCapacityChange,
  Ec2FakeInjectedError,
  Ec2FakeInstance,
  Ec2FakeOptions,
  Ec2FakeRequest,
  Ec2StateName,
} from './ec2-fake.js';
