// A consumer nobody here wrote: kafkajs reads our topics and @kafkajs/confluent-schema-registry
// decodes every record through the schema registry at $MNI_SCHEMA_REGISTRY_URL, exactly as a
// Node team next to us would. Run by tests/integration/test_registry_node.c.
//
//   node consume.js BOOTSTRAP TOPIC:COUNT...
//
// Reads each topic from the beginning with a fresh consumer group until COUNT records of it
// were decoded, then prints one JSON line per record on stdout:
//   {"topic":..., "partition":..., "offset":..., "key":..., "schema_id":..., "value":{...}}
// and exits 0. A record that does not decode, or a timeout ($MNI_NODE_TIMEOUT_MS, default
// 120000), is an error on stderr and exit 1.
'use strict';
const { Kafka, logLevel } = require('kafkajs');
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry');

async function main() {
  const [bootstrap, ...specs] = process.argv.slice(2);
  const url = process.env.MNI_SCHEMA_REGISTRY_URL;
  if (!bootstrap || specs.length === 0 || !url) {
    throw new Error('usage: MNI_SCHEMA_REGISTRY_URL=URL node consume.js BOOTSTRAP TOPIC:COUNT...');
  }
  const want = new Map(specs.map((s) => {
    const i = s.lastIndexOf(':');
    return [s.slice(0, i), Number(s.slice(i + 1))];
  }));
  const got = new Map([...want.keys()].map((t) => [t, 0]));
  const registry = new SchemaRegistry({ host: url });
  const kafka = new Kafka({ clientId: 'mni-node-test', brokers: bootstrap.split(','),
                            logLevel: logLevel.WARN });
  const consumer = kafka.consumer({ groupId: `mni-node-test-${process.pid}-${Date.now()}` });
  const lines = [];
  let failure = null;
  const done = () => [...want].every(([t, n]) => got.get(t) >= n);

  await consumer.connect();
  for (const topic of want.keys()) await consumer.subscribe({ topic, fromBeginning: true });
  const finished = new Promise((resolve) => {
    const timeout = Number(process.env.MNI_NODE_TIMEOUT_MS || 120000);
    const timer = setTimeout(() => {
      failure = new Error(`timed out after ${timeout} ms: ${JSON.stringify([...got])} of ` +
                          JSON.stringify([...want]));
      resolve();
    }, timeout);
    consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        try {
          const value = await registry.decode(message.value);
          lines.push(JSON.stringify({
            topic, partition, offset: message.offset,
            key: message.key ? message.key.toString() : null,
            schema_id: message.value.readInt32BE(1), value,
          }));
          got.set(topic, got.get(topic) + 1);
        } catch (e) {
          failure = new Error(`${topic}/${partition}@${message.offset}: ${e.message}`);
        }
        if (failure || done()) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await finished;
  await consumer.disconnect();
  if (failure) throw failure;
  process.stdout.write(lines.join('\n') + '\n');
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`consume.js: ${e.stack || e}\n`);
  process.exit(1);
});
