import { createServer } from 'node:http';
import { createService } from '@spothedge/core';
import { createAwsProvider } from '@spothedge/aws';

const aws = createAwsProvider({
  regions: { 'us-east-1': { zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'] } },
  instanceType: 'g5.xlarge',
  imageId: 'ami-0123456789abcdef0',
  credentials: { accessKeyId: 'AKIA…', secretAccessKey: '…' },
});
const service = createService({
  spec: {
    name: 'llama',
    replicas: 3, // ready replicas to keep; SpotHedge adds a spare spot and on-demand fallback
    locations: aws.locations().map((location) => location.id),
    instanceType: 'g5.xlarge',
    port: 8080, // the model server's port on each replica
    readinessProbe: { path: '/health', initialDelaySeconds: 600 },
  },
  providers: [aws],
});
service.on('replica-preempt', (event) => console.log(`preempted in ${event.location}`));
await service.start();
createServer(service.handler()).listen(3000); // OpenAI-compatible clients point here
